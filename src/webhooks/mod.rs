//! Webhooks: the secretariat's integrations subscribe to kinds of events (a membership changed,
//! an agreement moved, a patient allocated, a cohort's stage, a meeting scheduled or cancelled, a
//! decision closed). Each event is queued for its subscribers in the transaction of the change
//! that caused it ([`emit`]) and sent by the worker, signed as Standard Webhooks describes, with
//! retries and a log of every attempt.

pub mod model;
pub mod repo;
pub mod routes;
pub mod signature;
pub mod worker;

pub use model::EventType;
pub use repo::{emit, emit_with};
