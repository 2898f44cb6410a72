//! The audit trail: every change writes an event in the same transaction as the change.

pub mod model;
pub mod repo;
pub mod routes;

pub use model::diff;
pub use repo::record;
