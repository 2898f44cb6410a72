//! Who may see and do what with meetings and their invitees.
//!
//! - A **body's meeting** is scheduled, edited and cancelled by the secretariat and by the body's
//!   chair, co-chair or secretary ([`manages_body`]); a chair of one working group gets 403 on
//!   another group's meetings. Its invitees are managed by the same people.
//! - An **open event** is scheduled and managed by the secretariat (admins) only.
//! - A meeting is **seen** by the secretariat, by its invitees, by the members of its body (a seat
//!   in force today), and, for an open event, by every member of the consortium (partners and
//!   observers). Anyone else: 404, as if it did not exist.
//! - An invitee answers (RSVP) for themselves only; a caller who sees a meeting without being
//!   invited to it gets 403.
//! - Guests' e-mail addresses are shown to those who manage the meeting only.

use super::governance::{Seats, manages_body};
use super::{admin_or, can_read_consortium};
use crate::auth::caller::Caller;
use crate::core::MeetingKind;
use crate::error::ApiError;

/// Seeing one meeting: the secretariat, its invitees, its body's members, and every member of
/// the consortium for an open event (else 404).
pub fn see_meeting(
    caller: &Caller,
    kind: MeetingKind,
    seats: Seats<'_>,
    invited: bool,
) -> Result<(), ApiError> {
    let sees = caller.is_admin()
        || invited
        || match kind {
            MeetingKind::OpenEvent => can_read_consortium(caller),
            MeetingKind::BodyMeeting => !seats.is_empty(),
        };
    if sees {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Scheduling, editing and cancelling a meeting and managing its invitees: for a body's meeting
/// the secretariat and the body's chair, co-chair or secretary; for an open event the
/// secretariat.
pub fn manage_meeting(
    caller: &Caller,
    kind: MeetingKind,
    seats: Seats<'_>,
) -> Result<(), ApiError> {
    match kind {
        MeetingKind::OpenEvent => admin_or(caller, "only the secretariat (admin) runs open events"),
        MeetingKind::BodyMeeting if manages_body(caller, seats) => Ok(()),
        MeetingKind::BodyMeeting => Err(ApiError::forbidden(
            "only the secretariat or the body's chair, co-chair or secretary manage its meetings",
        )),
    }
}

/// Whether the caller manages the meeting (sees guests' e-mail addresses).
pub fn manages_meeting(caller: &Caller, kind: MeetingKind, seats: Seats<'_>) -> bool {
    manage_meeting(caller, kind, seats).is_ok()
}

/// Answering an invitation: the invitee themselves (a caller who sees the meeting but is not
/// invited: 403).
pub fn answer_invitation(invited: bool) -> Result<(), ApiError> {
    if invited {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only an invitee answers an invitation; you are not invited to this meeting",
        ))
    }
}

/// What the caller's lists of meetings hold besides the meetings they are invited to and those of
/// the bodies they sit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingsListed {
    /// Every meeting (the secretariat).
    All,
    /// Open events too (members of the consortium).
    WithOpenEvents,
    /// Nothing more.
    OwnOnly,
}

pub fn meetings_listed(caller: &Caller) -> MeetingsListed {
    if caller.is_admin() {
        MeetingsListed::All
    } else if can_read_consortium(caller) {
        MeetingsListed::WithOpenEvents
    } else {
        MeetingsListed::OwnOnly
    }
}
