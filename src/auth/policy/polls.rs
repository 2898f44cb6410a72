//! Who may see and do what with scheduling polls.
//!
//! - A **body's poll** (with `body_id`) is created, closed and scheduled by those who manage the
//!   body's meetings: the secretariat and the body's chair, co-chair or secretary. A chair of one
//!   working group gets 403 creating a poll for another group, and 403 closing or scheduling
//!   another group's poll they take part in.
//! - A poll **without a body** is the secretariat's (admins) only: scheduled, it becomes an open
//!   event, the only kind of meeting without a body.
//! - A poll is **seen** by the secretariat, by the body's managers, by the account that created
//!   it and by its participants. Anyone else (a member of the body who is not asked, too): 404,
//!   as if it did not exist. Everyone who sees it sees the tally and who answered what; guests'
//!   e-mail addresses only those who manage it.
//! - A participant answers for themselves only: signed in (a person of the register), or through
//!   the signed link e-mailed to them (guests, and people without an account); a caller who sees
//!   the poll without taking part gets 403.

use super::admin_or;
use super::governance::{Seats, manages_body};
use crate::auth::caller::Caller;
use crate::error::ApiError;

/// Creating, closing and scheduling a poll: the secretariat, and for a body's poll (`seats`: the
/// caller's in its body, `None` for a poll without a body) its chair, co-chair or secretary.
pub fn manage_poll(caller: &Caller, seats: Option<Seats<'_>>) -> Result<(), ApiError> {
    match seats {
        None => admin_or(
            caller,
            "only the secretariat (admin) runs a poll that belongs to no body",
        ),
        Some(seats) if manages_body(caller, seats) => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "only the secretariat or the body's chair, co-chair or secretary run its polls",
        )),
    }
}

/// Whether the caller manages the poll (sees guests' e-mail addresses).
pub fn manages_poll(caller: &Caller, seats: Option<Seats<'_>>) -> bool {
    manage_poll(caller, seats).is_ok()
}

/// Seeing one poll: its managers, its creator and its participants (else 404).
pub fn see_poll(
    caller: &Caller,
    seats: Option<Seats<'_>>,
    created_it: bool,
    participant: bool,
) -> Result<(), ApiError> {
    if participant || created_it || manages_poll(caller, seats) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Answering a poll: its participants, for themselves.
pub fn answer_poll(participant: bool) -> Result<(), ApiError> {
    if participant {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only a participant answers a poll; you are not asked in this one",
        ))
    }
}

/// What the caller's list of polls holds besides those they created, take part in, or whose body
/// they manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollsListed {
    /// Every poll (the secretariat).
    All,
    /// Their own only.
    OwnOnly,
}

pub fn polls_listed(caller: &Caller) -> PollsListed {
    if caller.is_admin() {
        PollsListed::All
    } else {
        PollsListed::OwnOnly
    }
}
