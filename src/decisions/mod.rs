//! Decisions of the bodies and the votes on them: quorum and majority by the body's rules,
//! recusals for conflicts of interest, secret ballots, reminders and results by e-mail.

pub mod model;
pub mod repo;
pub mod routes;
