//! Open events: the public list, registrations by anyone without an account (confirmed while
//! places last, then on a waiting list that moves up when someone cancels), cancelling through
//! the e-mailed signed link, and the secretariat's list of registrants.

pub mod model;
pub mod repo;
pub mod routes;
