//! E-mail notifications through a transactional outbox.
//!
//! A change and the messages it causes are written in one transaction ([`repo::enqueue`]); the
//! worker started by `serve` claims due messages (with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! several instances never claim the same one; inside SQLite's single writer otherwise), sends
//! them, and records the outcome. A message claimed by a worker that died is claimed again after
//! `CONNECT_MAIL_CLAIM_TIMEOUT_SECS`: delivery is at least once, and every attempt carries the same
//! `Message-ID`, so a rare resend is recognisable.

pub mod links;
pub mod mailbox;
pub mod model;
pub mod repo;
pub mod routes;
pub mod templates;
pub mod transport;
pub mod worker;

pub use model::{Kind, Language};
pub use repo::{Recipient, enqueue};
pub use templates::Mailer;
