//! Drugs the companies contribute to the consortium, with the molecular targets they address.

pub mod model;
pub mod repo;
pub mod routes;
