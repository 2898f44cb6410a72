//! Meetings and invitees: API types, and the rules that need no database (local times in an
//! IANA zone, the checks of a meeting's fields).

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{Attendance, MeetingKind, MeetingStatus, Rsvp};
use crate::error::ApiError;
pub use crate::notifications::Language;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// The zone a meeting is in when none is given.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Oslo";
/// The description's longest length, in characters.
pub const DESCRIPTION_MAX: usize = 8000;

/// A meeting of a body, or an open event of the consortium.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-7777-7000-8000-0000000000d1",
    "kind": "body_meeting",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "title": "WG4 monthly meeting",
    "description": "Data capture: status of the registry export.",
    "starts_at": "2027-03-29T12:00:00Z",
    "ends_at": "2027-03-29T13:00:00Z",
    "local_start": "2027-03-29T14:00:00",
    "local_end": "2027-03-29T15:00:00",
    "time_zone": "Europe/Oslo",
    "place": "Oslo Cancer Cluster Innovation Park, room 3",
    "video_url": "https://meet.example.org/wg4",
    "language": "nb",
    "status": "scheduled",
    "cancel_reason": null,
    "cancelled_at": null,
    "recording_url": null,
    "uid": "01937c4e-7777-7000-8000-0000000000d1@connect",
    "sequence": 0,
    "series_id": null,
    "occurrence_of": null,
    "rrule": null,
    "capacity": null,
    "registered_count": 0,
    "invitee_count": 6,
    "my_response": "accepted",
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct Meeting {
    pub id: Id,
    pub kind: MeetingKind,
    /// The body whose meeting it is (`null` for an open event).
    pub body_id: Option<Id>,
    pub title: String,
    pub description: String,
    /// The start, in UTC.
    pub starts_at: DateTime<Utc>,
    /// The end, in UTC.
    pub ends_at: DateTime<Utc>,
    /// The start as a wall-clock time in `time_zone` (no offset).
    #[schema(value_type = String, example = "2027-03-29T14:00:00")]
    pub local_start: NaiveDateTime,
    /// The end as a wall-clock time in `time_zone`.
    #[schema(value_type = String, example = "2027-03-29T15:00:00")]
    pub local_end: NaiveDateTime,
    /// The IANA time zone the meeting is held in.
    pub time_zone: String,
    pub place: Option<String>,
    pub video_url: Option<String>,
    pub language: Language,
    pub status: MeetingStatus,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Where the recording is, once held.
    pub recording_url: Option<String>,
    /// The iCalendar UID: the same for the meeting's whole life.
    pub uid: String,
    /// The iCalendar SEQUENCE: raised by each change of time or place and by the cancellation.
    pub sequence: i32,
    /// The series this meeting is an occurrence of (its master meeting), when it is one.
    pub series_id: Option<Id>,
    /// For an occurrence of a series: its original start (iCalendar RECURRENCE-ID), in UTC.
    pub occurrence_of: Option<DateTime<Utc>>,
    /// For a series' master: its RFC 5545 recurrence rule (e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU`),
    /// expanded in `time_zone`.
    #[schema(example = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")]
    pub rrule: Option<String>,
    /// For an open event: how many may register (`null`: no limit).
    pub capacity: Option<i32>,
    /// For an open event: the confirmed registrations (places taken).
    pub registered_count: i32,
    pub invitee_count: i64,
    /// The caller's own answer, when invited.
    pub my_response: Option<Rsvp>,
    /// Only in the answer to scheduling a meeting: invitees who already accepted another meeting
    /// at an overlapping time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<Conflict>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// An invitee who already accepted another meeting at an overlapping time.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "name": "Ingrid Fjellheim",
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d2",
    "title": "Board meeting",
    "starts_at": "2027-03-29T12:30:00Z",
    "ends_at": "2027-03-29T14:00:00Z"
}))]
pub struct Conflict {
    pub person_id: Id,
    pub name: String,
    /// The other meeting.
    pub meeting_id: Id,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A new meeting: of a body (`body_id`), or an open event (`kind: open_event`, the secretariat).
/// `start` and `end` are wall-clock times in `time_zone`; a time that does not exist there (the
/// hour skipped when clocks go forward) is refused, and one that occurs twice (the hour repeated
/// when clocks go back) is taken at its first occurrence, the earlier instant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "title": "WG4 monthly meeting",
    "description": "Data capture: status of the registry export.",
    "start": "2027-03-29T14:00:00",
    "end": "2027-03-29T15:00:00",
    "time_zone": "Europe/Oslo",
    "place": "Oslo Cancer Cluster Innovation Park, room 3",
    "video_url": "https://meet.example.org/wg4",
    "language": "nb"
}))]
pub struct CreateMeeting {
    /// `body_meeting` when absent (then `body_id` is required); `open_event` takes no body.
    pub kind: Option<MeetingKind>,
    pub body_id: Option<Id>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Empty when absent.
    pub description: Option<String>,
    /// Local start, e.g. `2027-03-28T14:00:00`.
    #[schema(value_type = String, example = "2027-03-29T14:00:00")]
    pub start: NaiveDateTime,
    /// Local end, after the start.
    #[schema(value_type = String, example = "2027-03-29T15:00:00")]
    pub end: NaiveDateTime,
    /// An IANA zone; `Europe/Oslo` when absent.
    pub time_zone: Option<String>,
    #[schema(max_length = 300)]
    pub place: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$"
    )]
    pub video_url: Option<String>,
    /// `nb` when absent.
    pub language: Option<Language>,
    /// Whether the body's members (seats in force today) are invited; `true` when absent.
    pub invite_members: Option<bool>,
    /// An open event's places (`null` or absent: no limit); refused for a body's meeting.
    pub capacity: Option<i32>,
    /// A series: an RFC 5545 recurrence rule (e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU`) expanded
    /// in `time_zone`, `start`/`end` being its first occurrence (which the rule must give).
    #[schema(example = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")]
    pub rrule: Option<String>,
}

/// Changes to a meeting; absent fields stay, `null` clears an optional one. Local `start`/`end`
/// are read in the (new) `time_zone`; a new `start` without `end` keeps the duration; a new
/// `time_zone` alone keeps the instants and moves the local times. A change of time or place
/// raises `sequence`. `status`: `held` once it took place, `scheduled` to undo that, `cancelled`
/// as `/cancel` without a reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "2027-03-29T15:00:00", "place": "Radiumhospitalet, auditorium"}))]
pub struct UpdateMeeting {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub description: Option<String>,
    #[schema(value_type = Option<String>, example = "2027-03-29T15:00:00")]
    pub start: Option<NaiveDateTime>,
    #[schema(value_type = Option<String>, example = "2027-03-29T16:00:00")]
    pub end: Option<NaiveDateTime>,
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub place: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$")]
    pub video_url: Option<Option<String>>,
    pub language: Option<Language>,
    /// `held`, `scheduled` (undoing `held`), or `cancelled` (as `/cancel`, raising `sequence`).
    pub status: Option<MeetingStatus>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$")]
    pub recording_url: Option<Option<String>>,
    /// An open event's places: not below the registrations holding one (409); raising or
    /// removing it (`null`) moves people up from the waiting list at once.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<i32>)]
    pub capacity: Option<Option<i32>>,
    /// A series' master only: its new rule (checked against its, possibly new, first start).
    pub rrule: Option<String>,
}

/// Calling a meeting off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The chair is ill; a new date follows."}))]
pub struct CancelMeeting {
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Someone invited: a person of the register, or a guest known by name and e-mail only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-8888-7000-8000-0000000000e1",
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "name": "Ingrid Fjellheim",
    "email": null,
    "guest": false,
    "response": "accepted",
    "responded_at": "2026-12-07T08:00:00Z",
    "attendance": null,
    "created_at": "2026-12-06T10:00:00Z",
    "version": 2
}))]
pub struct Invitee {
    pub id: Id,
    pub meeting_id: Id,
    /// The person (`null` for a guest).
    pub person_id: Option<Id>,
    pub name: String,
    /// A guest's e-mail address, shown to those who manage the meeting only.
    pub email: Option<String>,
    pub guest: bool,
    pub response: Rsvp,
    pub responded_at: Option<DateTime<Utc>>,
    /// Whether they took part, recorded once the meeting is held.
    pub attendance: Option<Attendance>,
    /// Only in the answer to adding an invitee: their accepted meetings overlapping this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<Conflict>>,
    pub created_at: DateTime<Utc>,
    /// Raised by each answer.
    pub version: i32,
}

/// A meeting's invitees, people by name then guests.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": "01937c4e-8888-7000-8000-0000000000e1",
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "name": "Ingrid Fjellheim",
    "email": null,
    "guest": false,
    "response": "accepted",
    "responded_at": "2026-12-07T08:00:00Z",
    "created_at": "2026-12-06T10:00:00Z",
    "version": 2
}]}))]
pub struct Invitees {
    pub items: Vec<Invitee>,
}

/// A new invitee: `person_id`, or a guest's `name` and `email`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dr. Kari Nordmann", "email": "kari.nordmann@example.org"}))]
pub struct AddInvitee {
    pub person_id: Option<Id>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 254, format = Email)]
    pub email: Option<String>,
}

/// An invitee's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"response": "accepted"}))]
pub struct Answer {
    /// `accepted`, `tentative` or `declined` (`needs_action` takes an answer back).
    pub response: Rsvp,
}

/// The zone named, or 422 on `field`.
pub fn zone(name: &str, field: &str) -> Result<Tz, ApiError> {
    name.parse::<Tz>().map_err(|_| {
        ApiError::invalid(
            field,
            "unknown_time_zone",
            "not an IANA time zone, e.g. Europe/Oslo",
        )
    })
}

/// A wall-clock time in a zone as UTC: 422 when it does not exist there (clocks going forward);
/// the earlier instant when it occurs twice (clocks going back).
pub fn to_utc(local: NaiveDateTime, tz: Tz, field: &str) -> Result<NaiveDateTime, ApiError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.naive_utc()),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.naive_utc()),
        LocalResult::None => Err(ApiError::invalid(
            field,
            "nonexistent_local_time",
            format!("{local} does not exist in {tz}: the clocks skip it (daylight saving)"),
        )),
    }
}

/// A UTC time as the wall-clock time in a zone.
pub fn to_local(utc: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    tz.from_utc_datetime(&utc).naive_local()
}

/// The text fields of a meeting, checked.
pub fn validate(
    title: &str,
    description: &str,
    place: Option<&str>,
    video_url: Option<&str>,
    recording_url: Option<&str>,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("title", title, 200);
    v.check(
        description.chars().count() <= DESCRIPTION_MAX,
        "description",
        "too_long",
        format!("must be at most {DESCRIPTION_MAX} characters"),
    );
    v.optional_text("place", place, 300);
    v.url("video_url", video_url);
    v.url("recording_url", recording_url);
    v.check(
        ends_at > starts_at,
        "end",
        "before_start",
        "must be after the start",
    );
    v.finish()
}

/// An open event's capacity, checked: only an open event has one, and it is at least 1.
pub fn check_capacity(kind: MeetingKind, capacity: Option<i32>) -> Result<(), ApiError> {
    match capacity {
        None => Ok(()),
        Some(_) if kind != MeetingKind::OpenEvent => Err(ApiError::invalid(
            "capacity",
            "not_allowed",
            "only an open event has a capacity",
        )),
        Some(c) if c < 1 => Err(ApiError::invalid(
            "capacity",
            "too_small",
            "must be at least 1",
        )),
        Some(_) => Ok(()),
    }
}

pub fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn oslo_local_times_follow_daylight_saving() {
        let oslo = zone("Europe/Oslo", "time_zone").unwrap();
        assert_eq!(
            to_utc(t("2027-03-26T14:00:00"), oslo, "start").unwrap(),
            t("2027-03-26T13:00:00")
        );
        assert_eq!(
            to_utc(t("2027-03-29T14:00:00"), oslo, "start").unwrap(),
            t("2027-03-29T12:00:00")
        );
        assert!(to_utc(t("2027-03-28T02:30:00"), oslo, "start").is_err());
        // 02:30 on 31 October 2027 happens twice: the first, in summer time.
        assert_eq!(
            to_utc(t("2027-10-31T02:30:00"), oslo, "start").unwrap(),
            t("2027-10-31T00:30:00")
        );
        assert_eq!(
            to_local(t("2027-10-31T01:30:00"), oslo),
            t("2027-10-31T02:30:00")
        );
        assert!(zone("Europe/Atlantis", "time_zone").is_err());
    }
}
