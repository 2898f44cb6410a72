//! A person's calendar feed: a secret URL any calendar app subscribes to, serving every meeting
//! the person is invited to as one iCalendar file (METHOD:PUBLISH).

pub mod model;
pub mod repo;
pub mod routes;
