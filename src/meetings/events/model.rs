//! Open events as the public sees them, and registrations: API types and the checks that need no
//! database.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{MeetingStatus, RegistrationStatus};
use crate::error::ApiError;
use crate::notifications::Language;
use crate::validation::{Validator, normalise_email};

/// What a signed cancel link is for (its `purpose` claim).
pub const CANCEL_PURPOSE: &str = "event_registration_cancel";

/// An open event, as anyone may see it (no account needed).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-7777-7000-8000-0000000000d9",
    "title": "Presisjonsmedisin for alle? (Arendalsuka)",
    "description": "Public meeting on equal access to precision cancer medicine.",
    "starts_at": "2027-08-18T08:00:00Z",
    "ends_at": "2027-08-18T09:30:00Z",
    "local_start": "2027-08-18T10:00:00",
    "local_end": "2027-08-18T11:30:00",
    "time_zone": "Europe/Oslo",
    "place": "Arendal, Kulturhuset",
    "video_url": null,
    "language": "nb",
    "status": "scheduled",
    "recording_url": null,
    "capacity": 60,
    "places_left": 12,
    "waiting_list": 0
}))]
pub struct PublicEvent {
    pub id: Id,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start as a wall-clock time in `time_zone`.
    #[schema(value_type = String, example = "2027-08-18T10:00:00")]
    pub local_start: NaiveDateTime,
    #[schema(value_type = String, example = "2027-08-18T11:30:00")]
    pub local_end: NaiveDateTime,
    pub time_zone: String,
    pub place: Option<String>,
    pub video_url: Option<String>,
    pub language: Language,
    pub status: MeetingStatus,
    pub recording_url: Option<String>,
    /// How many may register (`null`: no limit).
    pub capacity: Option<i32>,
    /// Places not yet taken (`null`: no limit).
    pub places_left: Option<i32>,
    /// How many wait for a place.
    pub waiting_list: i64,
}

/// Registering for an open event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Kari Nordmann",
    "email": "kari.nordmann@example.org",
    "organisation": "Kreftforeningen",
    "language": "nb"
}))]
pub struct Register {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    #[schema(max_length = 200)]
    pub organisation: Option<String>,
    /// The language of the e-mails; the event's when absent.
    pub language: Option<Language>,
}

impl Register {
    /// The fields, trimmed and checked: (name, e-mail, organisation).
    pub fn checked(self) -> Result<(String, String, Option<String>, Option<Language>), ApiError> {
        let name = self.name.trim().to_owned();
        let email = normalise_email(&self.email);
        let organisation = self
            .organisation
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let mut v = Validator::new();
        v.text("name", &name, 200);
        v.check(
            email.len() <= 254,
            "email",
            "too_long",
            "must be at most 254 characters",
        );
        v.email("email", &email);
        v.optional_text("organisation", organisation.as_deref(), 200);
        v.finish()?;
        Ok((name, email, organisation, self.language))
    }
}

/// A registration as its registrant sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-9999-7000-8000-0000000000f1",
    "event_id": "01937c4e-7777-7000-8000-0000000000d9",
    "status": "waitlisted",
    "position": 3,
    "created_at": "2027-06-01T10:00:00Z"
}))]
pub struct Registration {
    pub id: Id,
    pub event_id: Id,
    /// `confirmed` (holds a place), `waitlisted` or `cancelled`.
    pub status: RegistrationStatus,
    /// The place on the waiting list (1 is next), when waitlisted.
    pub position: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A registration with the registrant's particulars: personal data, for the secretariat only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-9999-7000-8000-0000000000f1",
    "event_id": "01937c4e-7777-7000-8000-0000000000d9",
    "name": "Kari Nordmann",
    "email": "kari.nordmann@example.org",
    "organisation": "Kreftforeningen",
    "language": "nb",
    "status": "confirmed",
    "position": null,
    "promoted_at": "2027-06-03T09:00:00Z",
    "cancelled_at": null,
    "created_at": "2027-06-01T10:00:00Z",
    "updated_at": "2027-06-03T09:00:00Z",
    "version": 2
}))]
pub struct Registrant {
    pub id: Id,
    pub event_id: Id,
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    pub language: Language,
    pub status: RegistrationStatus,
    /// The place on the waiting list, when waitlisted.
    pub position: Option<i64>,
    /// When a place came free for them, if they waited.
    pub promoted_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// What a cancel link is for: the registration and its event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "registration": {
        "id": "01937c4e-9999-7000-8000-0000000000f1",
        "event_id": "01937c4e-7777-7000-8000-0000000000d9",
        "status": "waitlisted",
        "position": 2,
        "created_at": "2027-06-01T10:00:00Z"
    },
    "name": "Kari Nordmann",
    "event": {
        "id": "01937c4e-7777-7000-8000-0000000000d9",
        "title": "Presisjonsmedisin for alle? (Arendalsuka)",
        "description": "Public meeting on equal access to precision cancer medicine.",
        "starts_at": "2027-08-18T08:00:00Z",
        "ends_at": "2027-08-18T09:30:00Z",
        "local_start": "2027-08-18T10:00:00",
        "local_end": "2027-08-18T11:30:00",
        "time_zone": "Europe/Oslo",
        "place": "Arendal, Kulturhuset",
        "video_url": null,
        "language": "nb",
        "status": "scheduled",
        "recording_url": null,
        "capacity": 60,
        "places_left": 0,
        "waiting_list": 3
    }
}))]
pub struct RegistrationByLink {
    pub registration: Registration,
    /// The registrant's name, as they gave it.
    pub name: String,
    pub event: PublicEvent,
}

/// Cancelling through the e-mailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2ln"}))]
pub struct CancelByToken {
    /// The `token` of the cancel link.
    pub token: String,
}
