//! Who may see and do what with open events' registrations.
//!
//! - **Anyone**, with no account, sees the upcoming open events and registers for one; the
//!   registrant cancels through the signed link e-mailed to them (the link is the credential).
//! - The registrants' names and e-mail addresses are personal data: only the secretariat
//!   (admins) lists them, exports them and cancels a registration for someone. Members of the
//!   consortium, who see the event itself, get 403; anyone else 404 (as for the meeting).

use super::admin_or;
use crate::auth::caller::Caller;
use crate::error::ApiError;

/// Listing, exporting and cancelling an open event's registrations: the secretariat.
pub fn manage_event_registrations(caller: &Caller) -> Result<(), ApiError> {
    admin_or(
        caller,
        "only the secretariat (admin) sees and manages the registrants of an open event",
    )
}
