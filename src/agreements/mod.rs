//! Drug-supply agreements between the consortium and one company: their terms, the drugs they
//! cover (each with an optional cap), their lifecycle and amendments, and the consortium summary.

pub mod model;
pub mod repo;
pub mod routes;
