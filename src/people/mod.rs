//! Contacts at the organisations (people may also hold a user account).

pub mod model;
pub mod repo;
pub mod routes;
