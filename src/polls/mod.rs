//! Scheduling polls: the organiser proposes times, the participants (people, and guests through
//! a signed link) mark each `yes`, `if_need_be` or `no`, everyone asked sees the tally, and the
//! organiser turns the chosen time into a meeting in one step, inviting the participants.

pub mod model;
pub mod repo;
pub mod routes;
