//! Who has a calendar feed: an account linked to a person, for that person's own meetings (the
//! feed is always the caller's own; there is no feed of someone else).

use crate::auth::Caller;
use crate::error::ApiError;

/// The caller manages their own feed; an account with no person has no meetings to show.
pub fn own_calendar_feed(_caller: &Caller, has_person: bool) -> Result<(), ApiError> {
    if has_person {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "a calendar feed shows a person's meetings: your account is linked to no person",
        ))
    }
}
