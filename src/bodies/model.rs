//! Bodies and their seats: API types and the rules that do not need the database.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{BodyKind, BodyRole, BodyStatus, Majority};
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// The mandate's longest length, in characters.
pub const MANDATE_MAX: usize = 4000;

/// A body of the consortium: the board, the general assembly, a working group or another
/// committee, with its mandate and the rules its votes follow.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-5555-7000-8000-0000000000b1",
    "kind": "working_group",
    "name": "Working group 4: data capture, storage and secondary use",
    "short_name": "WG4",
    "mandate": "Capture, store and reuse the data of precision cancer medicine for secondary analysis.",
    "status": "active",
    "started_on": "2021-02-01",
    "ended_on": null,
    "quorum_percent": 50,
    "majority": "simple",
    "member_count": 6,
    "my_roles": ["chair"],
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct Body {
    pub id: Id,
    pub kind: BodyKind,
    /// Unique, case-insensitively.
    pub name: String,
    pub short_name: Option<String>,
    /// What the body is for (at most 4000 characters; may span lines).
    pub mandate: String,
    pub status: BodyStatus,
    pub started_on: Option<NaiveDate>,
    /// The day it was dissolved (set to today when the body is dissolved without one).
    pub ended_on: Option<NaiveDate>,
    /// At least this percentage of the members eligible when a vote opens must vote.
    pub quorum_percent: i32,
    /// The majority of votes cast (abstentions not counted) a decision needs.
    pub majority: Majority,
    /// Seats in force today.
    pub member_count: i64,
    /// The caller's roles in the body today (empty: no seat).
    pub my_roles: Vec<BodyRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new body (the secretariat).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "working_group",
    "name": "Working group 4: data capture, storage and secondary use",
    "short_name": "WG4",
    "mandate": "Capture, store and reuse the data of precision cancer medicine for secondary analysis.",
    "started_on": "2021-02-01",
    "quorum_percent": 50,
    "majority": "simple"
}))]
pub struct CreateBody {
    pub kind: BodyKind,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 50)]
    pub short_name: Option<String>,
    /// Empty when absent.
    pub mandate: Option<String>,
    /// `active` when absent.
    pub status: Option<BodyStatus>,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// 0 to 100; 50 when absent.
    pub quorum_percent: Option<i32>,
    /// `simple` when absent.
    pub majority: Option<Majority>,
}

/// Changes to a body; absent fields stay, `null` clears an optional one. Dissolving a body
/// (`status: dissolved`) sets `ended_on` to today unless it is given.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "dissolved", "ended_on": "2026-12-31"}))]
pub struct UpdateBody {
    pub kind: Option<BodyKind>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub short_name: Option<Option<String>>,
    pub mandate: Option<String>,
    pub status: Option<BodyStatus>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub started_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub ended_on: Option<Option<NaiveDate>>,
    pub quorum_percent: Option<i32>,
    pub majority: Option<Majority>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A dissolved body has the day it ended: today, unless given.
fn settle_end(b: &mut Body, today: NaiveDate) {
    if b.status == BodyStatus::Dissolved && b.ended_on.is_none() {
        b.ended_on = Some(today);
    }
}

impl CreateBody {
    pub fn into_record(self, id: Id, now: DateTime<Utc>) -> Body {
        let mut b = Body {
            id,
            kind: self.kind,
            name: self.name.trim().to_owned(),
            short_name: clean(self.short_name),
            mandate: self.mandate.unwrap_or_default().trim().to_owned(),
            status: self.status.unwrap_or(BodyStatus::Active),
            started_on: self.started_on,
            ended_on: self.ended_on,
            quorum_percent: self.quorum_percent.unwrap_or(50),
            majority: self.majority.unwrap_or(Majority::Simple),
            member_count: 0,
            my_roles: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        settle_end(&mut b, now.date_naive());
        b
    }
}

impl UpdateBody {
    pub fn apply(self, b: &Body, today: NaiveDate) -> Body {
        let mut out = b.clone();
        if let Some(v) = self.kind {
            out.kind = v;
        }
        if let Some(v) = self.name {
            out.name = v.trim().to_owned();
        }
        if let Some(v) = self.short_name {
            out.short_name = clean(v);
        }
        if let Some(v) = self.mandate {
            out.mandate = v.trim().to_owned();
        }
        if let Some(v) = self.status {
            out.status = v;
        }
        if let Some(v) = self.started_on {
            out.started_on = v;
        }
        if let Some(v) = self.ended_on {
            out.ended_on = v;
        }
        if let Some(v) = self.quorum_percent {
            out.quorum_percent = v;
        }
        if let Some(v) = self.majority {
            out.majority = v;
        }
        settle_end(&mut out, today);
        out
    }
}

pub fn validate(b: &Body) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("name", &b.name, 200);
    v.optional_text("short_name", b.short_name.as_deref(), 50);
    v.check(
        b.mandate.chars().count() <= MANDATE_MAX,
        "mandate",
        "too_long",
        format!("must be at most {MANDATE_MAX} characters"),
    );
    v.check(
        (0..=100).contains(&b.quorum_percent),
        "quorum_percent",
        "out_of_range",
        "must be from 0 to 100",
    );
    if let (Some(start), Some(end)) = (b.started_on, b.ended_on) {
        v.check(
            end >= start,
            "ended_on",
            "before_start",
            "must be on or after started_on",
        );
    }
    v.finish()
}

/// A seat in a body: a person, their role, and the days it runs (a member who leaves keeps the
/// seat with the day they left).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-6666-7000-8000-0000000000c1",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "person_name": "Ingrid Fjellheim",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "organisation_name": "Oslo universitetssykehus HF",
    "role": "chair",
    "from_date": "2021-02-01",
    "to_date": null,
    "current": true,
    "votes": true,
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct Seat {
    pub id: Id,
    pub body_id: Id,
    pub person_id: Id,
    pub person_name: String,
    pub organisation_id: Option<Id>,
    pub organisation_name: Option<String>,
    pub role: BodyRole,
    /// The seat's first day.
    pub from_date: NaiveDate,
    /// Its last day; `null` while it runs.
    pub to_date: Option<NaiveDate>,
    /// In force today.
    pub current: bool,
    /// Counts as a voting member today: in force, not an observer's seat, and the person's
    /// organisation a partner (or no organisation).
    pub votes: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new seat (the secretariat, or the body's chair, co-chair or secretary).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "role": "member",
    "from_date": "2021-02-01"
}))]
pub struct CreateSeat {
    pub person_id: Id,
    pub role: BodyRole,
    /// Today when absent.
    pub from_date: Option<NaiveDate>,
    /// Open-ended when absent.
    pub to_date: Option<NaiveDate>,
}

/// Changes to a seat: another role (checked against the organisation's status), or the day it
/// ends (`to_date`; `null` makes it open-ended again). Seats are never deleted.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_date": "2026-12-31"}))]
pub struct UpdateSeat {
    pub role: Option<BodyRole>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub to_date: Option<Option<NaiveDate>>,
}

/// Whether a seat running from `from` through `to` (inclusive; `None`: open-ended) is in force
/// on `day`.
pub fn in_force(from: NaiveDate, to: Option<NaiveDate>, day: NaiveDate) -> bool {
    from <= day && to.is_none_or(|t| t >= day)
}

/// Whether two seats' runs share a day.
pub fn overlap(a: (NaiveDate, Option<NaiveDate>), b: (NaiveDate, Option<NaiveDate>)) -> bool {
    a.1.is_none_or(|end| end >= b.0) && b.1.is_none_or(|end| end >= a.0)
}

pub fn validate_dates(from: NaiveDate, to: Option<NaiveDate>) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if let Some(to) = to {
        v.check(
            to >= from,
            "to_date",
            "before_start",
            "must be on or after from_date",
        );
    }
    v.finish()
}

/// Where a person sits: one seat, with its body.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-6666-7000-8000-0000000000c1",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "body_name": "Working group 4: data capture, storage and secondary use",
    "body_kind": "working_group",
    "role": "chair",
    "from_date": "2021-02-01",
    "to_date": null,
    "current": true
}))]
pub struct PersonSeat {
    /// The seat's id.
    pub id: Id,
    pub body_id: Id,
    pub body_name: String,
    pub body_kind: BodyKind,
    pub role: BodyRole,
    pub from_date: NaiveDate,
    pub to_date: Option<NaiveDate>,
    /// In force today.
    pub current: bool,
}

/// The seats a person holds and held, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": "01937c4e-6666-7000-8000-0000000000c1",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "body_name": "Working group 4: data capture, storage and secondary use",
    "body_kind": "working_group",
    "role": "chair",
    "from_date": "2021-02-01",
    "to_date": null,
    "current": true
}]}))]
pub struct PersonSeats {
    pub items: Vec<PersonSeat>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn seats_overlap_when_they_share_a_day() {
        let a = (d("2021-01-01"), Some(d("2021-06-30")));
        assert!(overlap(a, (d("2021-06-30"), None)));
        assert!(!overlap(a, (d("2021-07-01"), None)));
        assert!(overlap((d("2021-01-01"), None), (d("2030-01-01"), None)));
        assert!(!overlap(a, (d("2020-01-01"), Some(d("2020-12-31")))));
    }

    #[test]
    fn a_seat_is_in_force_from_its_first_through_its_last_day() {
        assert!(in_force(d("2021-01-01"), None, d("2021-01-01")));
        assert!(in_force(
            d("2021-01-01"),
            Some(d("2021-01-31")),
            d("2021-01-31")
        ));
        assert!(!in_force(
            d("2021-01-01"),
            Some(d("2021-01-31")),
            d("2021-02-01")
        ));
        assert!(!in_force(d("2021-01-02"), None, d("2021-01-01")));
    }
}
