use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::core::Id;
use crate::core::text_enum;
use crate::notifications::Language;

text_enum!(
    /// Where an invitation stands.
    InvitationStatus {
        Pending = "pending",
        Accepted = "accepted",
        Revoked = "revoked",
        Expired = "expired",
    }
);

/// An invitation (its token is only ever in the e-mail).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-6666-7000-8000-000000000011",
    "email": "kari.nordmann@roche.com",
    "display_name": "Kari Nordmann",
    "role": "partner_representative",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "language": "nb",
    "status": "pending",
    "invited_by": "01937c4e-0000-7000-8000-000000000001",
    "created_at": "2026-11-23T10:00:00Z",
    "expires_at": "2026-11-30T10:00:00Z",
    "accepted_at": null,
    "revoked_at": null,
    "user_id": null
}))]
pub struct Invitation {
    pub id: Id,
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub organisation_id: Option<Id>,
    pub language: Language,
    pub status: InvitationStatus,
    pub invited_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    /// Seven days after it was (last) sent.
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The account made by accepting it.
    pub user_id: Option<Id>,
}

/// Invite a person. Inviting an address with a pending invitation replaces it (and its link).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "kari.nordmann@roche.com",
    "display_name": "Kari Nordmann",
    "role": "partner_representative",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "language": "en"
}))]
pub struct CreateInvitation {
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// How the message greets them; they choose their own name on accepting.
    #[schema(max_length = 200)]
    pub display_name: Option<String>,
    pub role: Role,
    /// Required for representatives, absent for admins.
    pub organisation_id: Option<Id>,
    /// The language of the message and, later, of their e-mails (default `nb`).
    pub language: Option<Language>,
}

/// Accept an invitation: choose your name and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Kari Nordmann", "password": "a long and private passphrase"}))]
pub struct AcceptInvitation {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    /// At least 12 characters, not a common one.
    pub password: String,
}
