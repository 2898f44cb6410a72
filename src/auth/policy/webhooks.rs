//! Who manages webhooks: the secretariat only. A subscription receives every event of its kinds,
//! across all organisations, so it is an admin's integration; an API token needs
//! `webhooks:read` to look and `webhooks:write` to change, test or retry.

use crate::auth::{Caller, Scope};
use crate::error::ApiError;

/// 403 unless the caller is an admin whose credential carries `scope`.
pub fn manage_webhooks(caller: &Caller, scope: Scope) -> Result<(), ApiError> {
    caller.require_scope(scope)?;
    super::admin_or(
        caller,
        "only the secretariat (admin) manages webhooks: a subscription receives events of every organisation",
    )
}
