//! User accounts (managed by admins) and API tokens (managed by their owners).

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
pub mod tokens;
