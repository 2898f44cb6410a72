//! Meetings: a body's meetings and the consortium's open events, their invitees (people and
//! guests) and answers, and each meeting as an iCalendar file.

pub mod events;
pub mod ics;
pub mod model;
pub mod recurrence;
pub mod repo;
pub mod routes;
