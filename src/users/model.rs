use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::policy::Standing;
use crate::auth::{Role, Scope};
use crate::core::{Id, text_enum};
use crate::notifications::Language;
use crate::organisations::model::{MembershipStatus, patch_field};

/// A user account.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-3333-7000-8000-0000000000dd",
    "email": "kari.nordmann@roche.com",
    "display_name": "Kari Nordmann",
    "role": "partner_representative",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "person_id": null,
    "active": true,
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
    "deactivated_at": null,
    "language": "nb",
    "version": 1
}))]
pub struct User {
    pub id: Id,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// The organisation a representative acts for (none for admins).
    pub organisation_id: Option<Id>,
    /// The contact record of this user, if linked.
    pub person_id: Option<Id>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// The language of their e-mails.
    pub language: Language,
    pub version: i32,
}

/// A new account. Representatives need an organisation; admins have none.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "kari.nordmann@roche.com",
    "display_name": "Kari Nordmann",
    "role": "partner_representative",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "password": "a long and private passphrase"
}))]
pub struct CreateUser {
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    pub role: Role,
    pub organisation_id: Option<Id>,
    /// Link to an existing contact record.
    pub person_id: Option<Id>,
    /// The initial password: at least 12 characters, not a common one. (To let the person choose
    /// their own, send an invitation instead.)
    pub password: String,
    /// The language of their e-mails (default `nb`).
    pub language: Option<Language>,
}

/// Changes to an account (admins): display name, role, organisation, linked person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "observer_representative"}))]
pub struct UpdateUser {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub organisation_id: Option<Option<Id>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub person_id: Option<Option<Id>>,
    pub language: Option<Language>,
}

/// The caller's organisation, in brief.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationSummary {
    pub id: Id,
    pub name: String,
    pub membership_status: MembershipStatus,
}

text_enum!(
    /// How the caller authenticated: a login session, or an API token.
    AuthenticatedWith {
        Session = "session",
        ApiToken = "api_token",
        /// The service itself (command line and seeding); never seen over HTTP.
        System = "system",
    }
);

/// The caller, with what they may do.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "user": {
        "id": "01937c4e-3333-7000-8000-0000000000dd",
        "email": "kari.nordmann@roche.com",
        "display_name": "Kari Nordmann",
        "role": "partner_representative",
        "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
        "person_id": null,
        "active": true,
        "deactivated_at": null,
        "language": "nb",
        "created_at": "2026-11-23T10:00:00Z",
        "updated_at": "2026-11-23T10:00:00Z",
        "version": 1
    },
    "organisation": {
        "id": "01937c4e-0000-7000-8000-0000000000aa",
        "name": "Roche Norge AS",
        "membership_status": "partner"
    },
    "standing": "partner",
    "can_read_consortium": true,
    "can_write_consortium": true,
    "authenticated_with": "session",
    "scopes": ["organisations:read", "organisations:write"]
}))]
pub struct Me {
    pub user: User,
    pub organisation: Option<OrganisationSummary>,
    /// What the organisation's membership allows (representatives' rights follow it).
    pub standing: Standing,
    pub can_read_consortium: bool,
    pub can_write_consortium: bool,
    pub authenticated_with: AuthenticatedWith,
    /// The scopes this credential carries.
    pub scopes: Vec<Scope>,
}

/// An API token (without its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-4444-7000-8000-0000000000ee",
    "name": "IMPRESS reporting",
    "scopes": ["organisations:read"],
    "token_prefix": "cnt_Zx8q",
    "created_at": "2026-11-23T10:00:00Z",
    "expires_at": "2027-11-23T00:00:00Z",
    "last_used_at": null,
    "revoked_at": null
}))]
pub struct ApiToken {
    pub id: Id,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The first characters of the secret, to recognise it.
    pub token_prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new API token, with its secret: shown this once, stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-4444-7000-8000-0000000000ee",
    "name": "IMPRESS reporting",
    "scopes": ["organisations:read"],
    "token_prefix": "cnt_Zx8q",
    "created_at": "2026-11-23T10:00:00Z",
    "expires_at": "2027-11-23T00:00:00Z",
    "last_used_at": null,
    "revoked_at": null,
    "secret": "cnt_Zx8qT3m9Lr2vW7pK4sN1bY6cH0dF5gJ8"
}))]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <token>`. Shown only now.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "IMPRESS reporting", "scopes": ["organisations:read", "people:read"], "expires_at": "2027-11-23T00:00:00Z"}))]
pub struct CreateApiToken {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// What the token may do; only scopes your role can use.
    pub scopes: Vec<Scope>,
    /// Optional expiry (in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A display name for an account created without one (`connect admin create-user --email …`):
/// the e-mail's local part, its `.`, `_`, `-` and `+` taken as spaces and each word capitalised
/// (`kari.nordmann@…` → `Kari Nordmann`), so e-mails it sends name a person rather than a role.
pub fn name_from_email(email: &str) -> String {
    let local = email.trim().split('@').next().unwrap_or("");
    let words: Vec<String> = local
        .split(['.', '_', '-', '+'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect();
    if words.is_empty() {
        email.trim().to_owned()
    } else {
        words.join(" ")
    }
}

#[cfg(test)]
mod name_tests {
    #[test]
    fn a_name_is_made_from_the_e_mail_local_part() {
        use super::name_from_email;
        assert_eq!(
            name_from_email("kari.nordmann@example.org"),
            "Kari Nordmann"
        );
        assert_eq!(name_from_email("admin@oslocancercluster.no"), "Admin");
        assert_eq!(name_from_email("øyvind_ås-berg@x.no"), "Øyvind Ås Berg");
        assert_eq!(name_from_email("@x.no"), "@x.no");
    }
}
