//! A meeting's proceedings: its agenda, minutes (drafted, then approved and read-only),
//! attendance with the quorum by the body's rules, the decisions taken at it, and action items
//! with their owners' reminders.

pub mod model;
pub mod repo;
pub mod routes;
