//! API types of a meeting's proceedings, and the checks that need no database.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{ActionItemStatus, Attendance, MinutesStatus};
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// The most documents one agenda item links.
pub const DOCUMENTS_MAX: usize = 20;
/// The longest minutes, in characters.
pub const MINUTES_MAX: usize = 100_000;
/// The longest description of an agenda or action item, in characters.
pub const DESCRIPTION_MAX: usize = 8000;

/// A document linked from an agenda item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Budget 2027 (draft)", "url": "https://docs.example.org/budget-2027.pdf"}))]
#[schema(as = AgendaDocument)]
pub struct Document {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// An http(s) URL.
    #[schema(
        max_length = 2048,
        pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$"
    )]
    pub url: String,
}

/// One item of a meeting's agenda.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-9999-7000-8000-0000000000a1",
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "position": 2,
    "title": "Budget 2027",
    "description": "The secretariat presents the draft budget.",
    "presenter_person_id": null,
    "presenter_name": "Kari Nordmann",
    "duration_minutes": 30,
    "documents": [{"title": "Budget 2027 (draft)", "url": "https://docs.example.org/budget-2027.pdf"}],
    "decision_id": null,
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct AgendaItem {
    pub id: Id,
    pub meeting_id: Id,
    /// 1 to n, without gaps.
    pub position: i32,
    pub title: String,
    pub description: String,
    /// The presenter, when a person of the register.
    pub presenter_person_id: Option<Id>,
    /// The presenter's name (the person's, when `presenter_person_id` is set).
    pub presenter_name: Option<String>,
    pub duration_minutes: Option<i32>,
    pub documents: Vec<Document>,
    /// The decision taken under this item, a decision of the meeting's body.
    pub decision_id: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A meeting's agenda, in order, with its total length against the meeting's.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [], "total_minutes": 90, "meeting_minutes": 120, "overruns": false}))]
pub struct Agenda {
    pub items: Vec<AgendaItem>,
    /// The sum of the items' durations.
    pub total_minutes: i64,
    /// The meeting's length, from start to end.
    pub meeting_minutes: i64,
    /// Whether the items take longer than the meeting.
    pub overruns: bool,
}

/// A new agenda item. `position` inserts it there (the items from there on move down one);
/// at the end when absent. The presenter is a person (`presenter_person_id`) or a name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Budget 2027",
    "description": "The secretariat presents the draft budget.",
    "presenter_name": "Kari Nordmann",
    "duration_minutes": 30,
    "documents": [{"title": "Budget 2027 (draft)", "url": "https://docs.example.org/budget-2027.pdf"}],
    "position": 2
}))]
pub struct CreateAgendaItem {
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    pub description: Option<String>,
    pub presenter_person_id: Option<Id>,
    #[schema(max_length = 200)]
    pub presenter_name: Option<String>,
    /// 1 to 1440.
    #[schema(minimum = 1, maximum = 1440)]
    pub duration_minutes: Option<i32>,
    /// At most 20.
    pub documents: Option<Vec<Document>>,
    /// 1 to n + 1; the end when absent.
    pub position: Option<i32>,
    pub decision_id: Option<Id>,
}

/// Changes to an agenda item; absent fields stay, `null` clears an optional one. A new
/// `position` (1 to n) moves the item and closes up the others.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"position": 1, "duration_minutes": 20}))]
pub struct UpdateAgendaItem {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub presenter_person_id: Option<Option<Id>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub presenter_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1440)]
    pub duration_minutes: Option<Option<i32>>,
    pub documents: Option<Vec<Document>>,
    pub position: Option<i32>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub decision_id: Option<Option<Id>>,
}

/// A meeting's minutes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "body": "1. Opening. The chair opened the meeting at 10:00.\n2. Budget 2027: adopted.",
    "status": "approved",
    "drafted_by": "01937c4e-1111-7000-8000-0000000000bb",
    "approved_by": "01937c4e-1111-7000-8000-0000000000bc",
    "approved_at": "2026-12-10T09:00:00Z",
    "approval_decision_id": null,
    "created_at": "2026-12-06T12:00:00Z",
    "updated_at": "2026-12-10T09:00:00Z",
    "version": 3
}))]
pub struct Minutes {
    pub meeting_id: Id,
    pub body: String,
    /// `draft` (may change) or `approved` (read-only).
    pub status: MinutesStatus,
    /// The account that drafted them.
    pub drafted_by: Option<Id>,
    pub approved_by: Option<Id>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The body's adopted decision approving them, when it voted on them.
    pub approval_decision_id: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// The minutes' text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "1. Opening. The chair opened the meeting at 10:00."}))]
pub struct PutMinutes {
    pub body: String,
}

/// Approving minutes, optionally citing the body's adopted decision to approve them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision_id": null}))]
pub struct ApproveMinutes {
    pub decision_id: Option<Id>,
}

/// One invitee's attendance.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "invitee_id": "01937c4e-8888-7000-8000-0000000000e1",
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "name": "Ingrid Fjellheim",
    "guest": false,
    "attendance": "present",
    "voting": true
}))]
pub struct AttendanceEntry {
    pub invitee_id: Id,
    pub person_id: Option<Id>,
    pub name: String,
    pub guest: bool,
    /// `null` until recorded.
    pub attendance: Option<Attendance>,
    /// Whether they held a voting seat in the body on the meeting's day (`null` for an open
    /// event).
    pub voting: Option<bool>,
}

/// How many invitees were recorded as what.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[schema(example = json!({"present": 5, "absent": 1, "excused": 1, "unrecorded": 0}))]
pub struct AttendanceCounts {
    pub present: i64,
    pub absent: i64,
    pub excused: i64,
    pub unrecorded: i64,
}

/// The quorum of a body's meeting by the body's rules, on the meeting's day.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "quorum_percent": 50, "voting_members": 7, "quorum_needed": 4,
    "present_voting_members": 5, "quorum_reached": true
}))]
pub struct Quorum {
    pub quorum_percent: i32,
    /// The body's voting members that day (seats that vote, their organisations partners).
    pub voting_members: i64,
    /// `ceil(quorum_percent × voting_members / 100)`.
    pub quorum_needed: i64,
    /// Invitees present who are among the voting members.
    pub present_voting_members: i64,
    pub quorum_reached: bool,
}

/// A meeting's attendance: each invitee, the counts, and the quorum (`null` for an open event).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [],
    "counts": {"present": 5, "absent": 1, "excused": 1, "unrecorded": 0},
    "quorum": {"quorum_percent": 50, "voting_members": 7, "quorum_needed": 4,
               "present_voting_members": 5, "quorum_reached": true}
}))]
pub struct AttendanceReport {
    pub items: Vec<AttendanceEntry>,
    pub counts: AttendanceCounts,
    pub quorum: Option<Quorum>,
}

/// One invitee's attendance to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceMark {
    pub invitee_id: Id,
    pub attendance: Attendance,
}

/// Attendance to record (invitees not listed keep theirs).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [
    {"invitee_id": "01937c4e-8888-7000-8000-0000000000e1", "attendance": "present"}
]}))]
pub struct SetAttendance {
    pub items: Vec<AttendanceMark>,
}

/// A task given at a meeting to a person, due on a day.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-aaaa-7000-8000-0000000000f1",
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "agenda_item_id": null,
    "title": "Send the data-sharing template to the partners",
    "description": "",
    "owner_person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "owner_name": "Ingrid Fjellheim",
    "due_on": "2027-03-16",
    "status": "open",
    "done_at": null,
    "reminded_at": null,
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct ActionItem {
    pub id: Id,
    pub meeting_id: Id,
    pub agenda_item_id: Option<Id>,
    pub title: String,
    pub description: String,
    pub owner_person_id: Id,
    pub owner_name: String,
    pub due_on: NaiveDate,
    /// `open`, `done`, or `dropped` (no longer needed; items are never deleted).
    pub status: ActionItemStatus,
    pub done_at: Option<DateTime<Utc>>,
    /// When the owner was reminded (once, the day before or on the day it is due).
    pub reminded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A meeting's action items, by due date.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": []}))]
pub struct ActionItems {
    pub items: Vec<ActionItem>,
}

/// A new action item; the owner is an invitee of the meeting or a member of its body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Send the data-sharing template to the partners",
    "owner_person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "due_on": "2027-03-16"
}))]
pub struct CreateActionItem {
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    pub description: Option<String>,
    pub owner_person_id: Id,
    pub due_on: NaiveDate,
    /// An item of this meeting's agenda.
    pub agenda_item_id: Option<Id>,
}

/// Changes to an action item. Those who manage the meeting change any field; the owner only
/// `status`, between `open` and `done`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "done"}))]
pub struct UpdateActionItem {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner_person_id: Option<Id>,
    pub due_on: Option<NaiveDate>,
    pub status: Option<ActionItemStatus>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<Id>)]
    pub agenda_item_id: Option<Option<Id>>,
}

impl UpdateActionItem {
    /// Whether the change only moves the status between open and done (what an owner may do).
    pub fn status_only(&self) -> bool {
        self.title.is_none()
            && self.description.is_none()
            && self.owner_person_id.is_none()
            && self.due_on.is_none()
            && self.agenda_item_id.is_none()
            && matches!(
                self.status,
                Some(ActionItemStatus::Open | ActionItemStatus::Done)
            )
    }
}

/// A description: at most [`DESCRIPTION_MAX`] characters.
pub fn check_description(v: &mut Validator, field: &str, value: &str) {
    v.check(
        value.chars().count() <= DESCRIPTION_MAX,
        field,
        "too_long",
        format!("must be at most {DESCRIPTION_MAX} characters"),
    );
}

/// An agenda item's documents: at most [`DOCUMENTS_MAX`], each with a title and an http(s) URL.
pub fn check_documents(v: &mut Validator, documents: &[Document]) {
    v.check(
        documents.len() <= DOCUMENTS_MAX,
        "documents",
        "too_many",
        format!("at most {DOCUMENTS_MAX} documents"),
    );
    for (i, d) in documents.iter().enumerate() {
        v.text(&format!("documents[{i}].title"), &d.title, 200);
        v.url(&format!("documents[{i}].url"), Some(&d.url));
    }
}

/// Documents with their titles and URLs trimmed, as stored.
pub fn clean_documents(documents: Vec<Document>) -> Vec<Document> {
    documents
        .into_iter()
        .map(|d| Document {
            title: d.title.trim().to_owned(),
            url: d.url.trim().to_owned(),
        })
        .collect()
}

/// The fields of an agenda item, checked.
pub fn check_agenda_item(
    title: &str,
    description: &str,
    presenter_name: Option<&str>,
    duration_minutes: Option<i32>,
    documents: &[Document],
) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("title", title, 200);
    check_description(&mut v, "description", description);
    v.optional_text("presenter_name", presenter_name, 200);
    if let Some(d) = duration_minutes {
        v.check(
            (1..=1440).contains(&d),
            "duration_minutes",
            "out_of_range",
            "must be 1 to 1440",
        );
    }
    check_documents(&mut v, documents);
    v.finish()
}

/// The minutes' text: not empty, at most [`MINUTES_MAX`] characters (line breaks allowed).
pub fn check_minutes(body: &str) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.check(
        !body.trim().is_empty(),
        "body",
        "required",
        "must not be empty",
    );
    v.check(
        body.chars().count() <= MINUTES_MAX,
        "body",
        "too_long",
        format!("must be at most {MINUTES_MAX} characters"),
    );
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(url: &str) -> Document {
        Document {
            title: "Paper".into(),
            url: url.into(),
        }
    }

    #[test]
    fn documents_need_http_urls_and_at_most_twenty() {
        assert!(check_agenda_item("T", "", None, Some(30), &[doc("https://a.example/x")]).is_ok());
        assert!(check_agenda_item("T", "", None, None, &[doc("ftp://a.example/x")]).is_err());
        assert!(check_agenda_item("T", "", None, None, &[doc("javascript:alert(1)")]).is_err());
        let many: Vec<Document> = (0..21).map(|_| doc("https://a.example/x")).collect();
        assert!(check_agenda_item("T", "", None, None, &many).is_err());
        assert!(check_agenda_item("T", "", None, Some(0), &[]).is_err());
    }

    #[test]
    fn an_owner_may_only_move_the_status_between_open_and_done() {
        let done = UpdateActionItem {
            status: Some(ActionItemStatus::Done),
            ..Default::default()
        };
        assert!(done.status_only());
        let dropped = UpdateActionItem {
            status: Some(ActionItemStatus::Dropped),
            ..Default::default()
        };
        assert!(!dropped.status_only());
        let retitled = UpdateActionItem {
            status: Some(ActionItemStatus::Done),
            title: Some("x".into()),
            ..Default::default()
        };
        assert!(!retitled.status_only());
    }
}
