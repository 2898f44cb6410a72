//! Meetings: a body's meetings and the consortium's open events, their invitees (people and
//! guests) and answers, and each meeting as an iCalendar file.

pub mod answers;
pub mod events;
pub mod free_slots;
pub mod ics;
pub mod mail;
pub mod model;
pub mod proceedings;
pub mod recurrence;
pub mod reminders;
pub mod repo;
pub mod routes;
pub mod series;
pub mod series_routes;
