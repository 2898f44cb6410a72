//! Who may do what with a meeting's proceedings: its agenda, minutes, attendance, action items.
//!
//! - Everyone who **sees** the meeting (`see_meeting`) reads its agenda, minutes, attendance and
//!   action items.
//! - The agenda, the minutes' draft, the attendance and the action items are **managed** by those
//!   who manage the meeting (`manage_meeting`: the secretariat; for a body's meeting its chair,
//!   co-chair or secretary). The body's secretary drafts the minutes.
//! - Minutes are **approved** for the body by its chair or co-chair, or by the secretariat (for an
//!   open event: the secretariat only). The secretary, who drafts them, does not approve them.
//! - An action item's **owner** may mark it done or open again, and nothing more; any other change
//!   is for those who manage the meeting.

use super::admin_or;
use super::governance::Seats;
use super::meetings::manage_meeting;
use crate::auth::caller::Caller;
use crate::core::{BodyRole, MeetingKind};
use crate::error::ApiError;

/// Changing a meeting's agenda, minutes draft, attendance and action items.
pub fn manage_proceedings(
    caller: &Caller,
    kind: MeetingKind,
    seats: Seats<'_>,
) -> Result<(), ApiError> {
    manage_meeting(caller, kind, seats)
}

/// Approving minutes: the secretariat, or the body's chair or co-chair.
pub fn approve_minutes(
    caller: &Caller,
    kind: MeetingKind,
    seats: Seats<'_>,
) -> Result<(), ApiError> {
    let chairs = seats
        .iter()
        .any(|r| matches!(r, BodyRole::Chair | BodyRole::CoChair));
    match kind {
        MeetingKind::BodyMeeting if chairs => Ok(()),
        MeetingKind::BodyMeeting => admin_or(
            caller,
            "only the secretariat or the body's chair or co-chair approve its minutes",
        ),
        MeetingKind::OpenEvent => admin_or(
            caller,
            "only the secretariat (admin) approves an open event's minutes",
        ),
    }
}

/// Changing an action item: those who manage the meeting change anything; its owner only its
/// status between open and done (`status_only`: the change asked touches nothing else).
pub fn change_action_item(
    caller: &Caller,
    kind: MeetingKind,
    seats: Seats<'_>,
    is_owner: bool,
    status_only: bool,
) -> Result<(), ApiError> {
    if manage_meeting(caller, kind, seats).is_ok() || (is_owner && status_only) {
        Ok(())
    } else if is_owner {
        Err(ApiError::forbidden(
            "an action item's owner only marks it done or open again",
        ))
    } else {
        Err(ApiError::forbidden(
            "only those who manage the meeting, or the item's owner, change an action item",
        ))
    }
}
