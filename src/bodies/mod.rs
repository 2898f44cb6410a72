//! The consortium's bodies (the board, the general assembly, the working groups), their mandates
//! and voting rules, and who sits in them: seats with a role and dates, kept as history.

pub mod model;
pub mod repo;
pub mod routes;
