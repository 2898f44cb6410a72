//! Notification kinds, languages and the API types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The language a person reads their e-mail in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, Default)]
pub enum Language {
    /// Norwegian (bokmål)
    #[default]
    #[serde(rename = "nb")]
    Nb,
    /// English
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Nb, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nb => "nb",
            Language::En => "en",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "nb" => Ok(Language::Nb),
            "en" => Ok(Language::En),
            other => Err(ApiError::internal(format!(
                "unknown language in database: {other}"
            ))),
        }
    }
}

/// What a message is about. Security messages always go; the others follow the person's
/// preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An invitation to an account (security: always sent).
    Invitation,
    /// A password-reset link (security: always sent).
    PasswordReset,
    /// The password was changed (security: always sent).
    PasswordChanged,
    /// The account's role changed (security: always sent).
    RoleChanged,
    /// The person's organisation changed membership status (optional).
    MembershipChanged,
    /// A reminder of a coming meeting (optional).
    MeetingReminder,
    /// An agreement's patient cap is nearly used up (optional).
    CapAlert,
}

impl Kind {
    /// The kinds a template exists for (the optional meeting and cap kinds arrive with their modules).
    pub const TEMPLATED: [Kind; 5] = [
        Kind::Invitation,
        Kind::PasswordReset,
        Kind::PasswordChanged,
        Kind::RoleChanged,
        Kind::MembershipChanged,
    ];
    /// The kinds a person may opt out of.
    pub const OPTIONAL: [Kind; 3] = [
        Kind::MembershipChanged,
        Kind::MeetingReminder,
        Kind::CapAlert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::PasswordReset => "password_reset",
            Kind::PasswordChanged => "password_changed",
            Kind::RoleChanged => "role_changed",
            Kind::MembershipChanged => "membership_changed",
            Kind::MeetingReminder => "meeting_reminder",
            Kind::CapAlert => "cap_alert",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Invitation,
            Kind::PasswordReset,
            Kind::PasswordChanged,
            Kind::RoleChanged,
            Kind::MembershipChanged,
            Kind::MeetingReminder,
            Kind::CapAlert,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    pub fn is_optional(self) -> bool {
        Kind::OPTIONAL.contains(&self)
    }
}

/// Delivery state of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting to be sent (or to be retried at `next_attempt_at`).
    Pending,
    /// Claimed by a worker.
    Sending,
    Sent,
    /// Gave up: a permanent error, or too many attempts. An admin may retry it.
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Sending => "sending",
            State::Sent => "sent",
            State::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ApiError> {
        match s {
            "pending" => Ok(State::Pending),
            "sending" => Ok(State::Sending),
            "sent" => Ok(State::Sent),
            "failed" => Ok(State::Failed),
            other => Err(ApiError::internal(format!(
                "unknown notification state in database: {other}"
            ))),
        }
    }
}

/// An e-mail in the outbox, with its delivery state. Bodies are not shown (they can hold
/// one-time links).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-5555-7000-8000-0000000000ff",
    "kind": "membership_changed",
    "recipient_email": "kari.nordmann@roche.com",
    "recipient_user_id": "01937c4e-3333-7000-8000-0000000000dd",
    "language": "nb",
    "subject": "Roche Norge AS er nå partner i CONNECT",
    "state": "sent",
    "attempts": 1,
    "next_attempt_at": "2026-11-23T10:05:00Z",
    "last_error": null,
    "message_id": "<01937c4e-5555-7000-8000-0000000000ff@connect.oslocancercluster.no>",
    "created_at": "2026-11-23T10:05:00Z",
    "sent_at": "2026-11-23T10:05:01Z"
}))]
pub struct Notification {
    pub id: String,
    pub kind: Kind,
    pub recipient_email: String,
    pub recipient_user_id: Option<String>,
    pub language: Language,
    pub subject: String,
    pub state: State,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// The `Message-ID` header: the same on every attempt, so a rare resend is recognisable.
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Which optional messages a person receives, and in which language all of them come.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"language": "en", "membership_changed": true, "meeting_reminder": true, "cap_alert": false}))]
pub struct NotificationPreferences {
    pub language: Language,
    /// Your organisation's membership status changed.
    pub membership_changed: bool,
    /// A meeting you are invited to is coming up.
    pub meeting_reminder: bool,
    /// An agreement of your organisation has nearly used up its patient cap.
    pub cap_alert: bool,
}
