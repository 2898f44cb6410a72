//! The audit trail: every change writes an event in the same transaction as the change.

pub mod model;
pub mod repo;
pub mod routes;

pub use model::{changes, diff};
pub use repo::{created, deleted, record, updated};
