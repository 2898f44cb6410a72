//! Scheduling polls: API types, and the rules that need no database (the slots' checks, the
//! tally and the ranking of the best slots).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{PollAnswer, PollStatus};
use crate::error::ApiError;
use crate::meetings::model::to_utc;
pub use crate::notifications::Language;
use crate::validation::{Validator, normalise_email};

/// What a signed answer link is for (a token of another purpose never opens as one).
pub const ANSWER_PURPOSE: &str = "poll-answer";
/// The most slots a poll proposes.
pub const MAX_SLOTS: usize = 50;
/// The most participants a poll asks.
pub const MAX_PARTICIPANTS: usize = 500;
/// The description's longest length, in characters.
pub const DESCRIPTION_MAX: usize = 8000;

/// A proposed time: local wall-clock times in the poll's `time_zone`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "2027-03-29T14:00:00", "end": "2027-03-29T15:00:00"}))]
pub struct NewSlot {
    /// Local start, e.g. `2027-03-29T14:00:00`.
    #[schema(value_type = String, example = "2027-03-29T14:00:00")]
    pub start: NaiveDateTime,
    /// Local end, after the start.
    #[schema(value_type = String, example = "2027-03-29T15:00:00")]
    pub end: NaiveDateTime,
}

/// A guest asked in a poll: someone without an account, known by name and e-mail.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Dr. Kari Nordmann", "email": "kari.nordmann@example.org"}))]
pub struct NewGuest {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 254, format = Email)]
    pub email: String,
}

/// A new scheduling poll. Slot times are wall-clock times in `time_zone` (a time the clocks skip
/// is refused; one they repeat is taken at its first occurrence), each in the future, ending
/// after it starts, no two alike; 1 to 50 of them. Every participant is e-mailed a signed link
/// to the answer page (`/polls/answer?token=…`), valid until `closes_at` or, without it, the
/// last slot's end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "title": "WG4 kick-off",
    "description": "Which of these suits you for the first meeting?",
    "time_zone": "Europe/Oslo",
    "language": "en",
    "slots": [
        {"start": "2027-03-26T14:00:00", "end": "2027-03-26T15:00:00"},
        {"start": "2027-03-29T14:00:00", "end": "2027-03-29T15:00:00"}
    ],
    "closes_at": "2027-03-20T16:00:00Z",
    "people": ["01937c4e-2222-7000-8000-0000000000cc"],
    "guests": [{"name": "Dr. Kari Nordmann", "email": "kari.nordmann@example.org"}],
    "invite_members": true
}))]
pub struct CreatePoll {
    /// A body's poll (run by its chair, co-chair or secretary, or the secretariat); absent: the
    /// secretariat's own, which becomes an open event when scheduled.
    pub body_id: Option<Id>,
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Empty when absent.
    pub description: Option<String>,
    /// An IANA zone; `Europe/Oslo` when absent.
    pub time_zone: Option<String>,
    /// The e-mails', the answer page's and the meeting's language; `nb` when absent.
    pub language: Option<Language>,
    /// The proposed times, 1 to 50.
    pub slots: Vec<NewSlot>,
    /// When answers stop (in the future, before the last slot starts); absent: at the last slot's
    /// start.
    pub closes_at: Option<DateTime<Utc>>,
    /// People of the register asked.
    pub people: Option<Vec<Id>>,
    /// Guests asked.
    pub guests: Option<Vec<NewGuest>>,
    /// Whether the body's members (seats in force today) are asked too; `false` when absent.
    pub invite_members: Option<bool>,
}

/// How a slot stands: the answers counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"yes": 3, "if_need_be": 1, "no": 1, "no_answer": 2}))]
pub struct Tally {
    pub yes: i64,
    pub if_need_be: i64,
    pub no: i64,
    /// Participants who have not answered for this slot.
    pub no_answer: i64,
}

/// A proposed time, with its tally.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-aaaa-7000-8000-000000000101",
    "starts_at": "2027-03-29T12:00:00Z",
    "ends_at": "2027-03-29T13:00:00Z",
    "local_start": "2027-03-29T14:00:00",
    "local_end": "2027-03-29T15:00:00",
    "tally": {"yes": 3, "if_need_be": 1, "no": 1, "no_answer": 2}
}))]
pub struct Slot {
    pub id: Id,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start as a wall-clock time in the poll's `time_zone`.
    #[schema(value_type = String, example = "2027-03-29T14:00:00")]
    pub local_start: NaiveDateTime,
    #[schema(value_type = String, example = "2027-03-29T15:00:00")]
    pub local_end: NaiveDateTime,
    pub tally: Tally,
}

/// Someone asked: a person of the register, or a guest.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-bbbb-7000-8000-000000000201",
    "person_id": "01937c4e-2222-7000-8000-0000000000cc",
    "name": "Ingrid Fjellheim",
    "email": null,
    "guest": false,
    "answers": {"01937c4e-aaaa-7000-8000-000000000101": "yes"}
}))]
pub struct Participant {
    pub id: Id,
    /// The person (`null` for a guest).
    pub person_id: Option<Id>,
    pub name: String,
    /// A guest's e-mail address, shown to those who manage the poll only.
    pub email: Option<String>,
    pub guest: bool,
    /// Their answer per slot id (slots not answered are absent).
    #[schema(value_type = BTreeMap<String, PollAnswer>)]
    pub answers: BTreeMap<String, PollAnswer>,
}

/// A scheduling poll, as its managers and participants see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-cccc-7000-8000-000000000301",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "title": "WG4 kick-off",
    "description": "Which of these suits you for the first meeting?",
    "time_zone": "Europe/Oslo",
    "language": "en",
    "status": "open",
    "closes_at": "2027-03-20T16:00:00Z",
    "meeting_id": null,
    "slots": [{
        "id": "01937c4e-aaaa-7000-8000-000000000101",
        "starts_at": "2027-03-29T12:00:00Z",
        "ends_at": "2027-03-29T13:00:00Z",
        "local_start": "2027-03-29T14:00:00",
        "local_end": "2027-03-29T15:00:00",
        "tally": {"yes": 1, "if_need_be": 0, "no": 0, "no_answer": 1}
    }],
    "participants": [{
        "id": "01937c4e-bbbb-7000-8000-000000000201",
        "person_id": "01937c4e-2222-7000-8000-0000000000cc",
        "name": "Ingrid Fjellheim",
        "email": null,
        "guest": false,
        "answers": {"01937c4e-aaaa-7000-8000-000000000101": "yes"}
    }],
    "best_slots": ["01937c4e-aaaa-7000-8000-000000000101"],
    "my_participant_id": "01937c4e-bbbb-7000-8000-000000000201",
    "created_at": "2027-03-01T10:00:00Z",
    "updated_at": "2027-03-02T08:00:00Z",
    "version": 1
}))]
pub struct Poll {
    pub id: Id,
    pub body_id: Option<Id>,
    pub title: String,
    pub description: String,
    pub time_zone: String,
    pub language: Language,
    /// `open` until closed (or past `closes_at`, when it reads `closed`), `scheduled` once turned
    /// into a meeting.
    pub status: PollStatus,
    pub closes_at: Option<DateTime<Utc>>,
    /// The meeting it was turned into.
    pub meeting_id: Option<Id>,
    /// By time.
    pub slots: Vec<Slot>,
    /// People by name, then guests by name.
    pub participants: Vec<Participant>,
    /// Every slot's id, best first: most `yes` and `if_need_be` together, then most `yes`, then
    /// the earliest.
    pub best_slots: Vec<Id>,
    /// The caller's own participation, when asked.
    pub my_participant_id: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Raised by closing and scheduling (answers leave it).
    pub version: i32,
}

/// A poll in a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-cccc-7000-8000-000000000301",
    "body_id": "01937c4e-5555-7000-8000-0000000000b1",
    "title": "WG4 kick-off",
    "time_zone": "Europe/Oslo",
    "status": "open",
    "closes_at": "2027-03-20T16:00:00Z",
    "meeting_id": null,
    "slot_count": 2,
    "participant_count": 5,
    "created_at": "2027-03-01T10:00:00Z",
    "version": 1
}))]
pub struct PollSummary {
    pub id: Id,
    pub body_id: Option<Id>,
    pub title: String,
    pub time_zone: String,
    pub status: PollStatus,
    pub closes_at: Option<DateTime<Utc>>,
    pub meeting_id: Option<Id>,
    pub slot_count: i64,
    pub participant_count: i64,
    pub created_at: DateTime<Utc>,
    pub version: i32,
}

/// A participant's answers: slot id → `yes`, `if_need_be` or `no`. Slots left out keep their
/// answer (or none); every slot named must be one of the poll's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answers": {
    "01937c4e-aaaa-7000-8000-000000000101": "yes",
    "01937c4e-aaaa-7000-8000-000000000102": "if_need_be"
}}))]
pub struct SetAnswers {
    #[schema(value_type = BTreeMap<String, PollAnswer>)]
    pub answers: BTreeMap<String, PollAnswer>,
}

/// The poll as a participant answering through their link sees it: the slots with the tally,
/// their own answers, the ranking (not the others' names or answers).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "poll_id": "01937c4e-cccc-7000-8000-000000000301",
    "title": "WG4 kick-off",
    "description": "Which of these suits you for the first meeting?",
    "time_zone": "Europe/Oslo",
    "language": "en",
    "status": "open",
    "closes_at": "2027-03-20T16:00:00Z",
    "name": "Dr. Kari Nordmann",
    "slots": [{
        "id": "01937c4e-aaaa-7000-8000-000000000101",
        "starts_at": "2027-03-29T12:00:00Z",
        "ends_at": "2027-03-29T13:00:00Z",
        "local_start": "2027-03-29T14:00:00",
        "local_end": "2027-03-29T15:00:00",
        "tally": {"yes": 1, "if_need_be": 1, "no": 0, "no_answer": 0}
    }],
    "answers": {"01937c4e-aaaa-7000-8000-000000000101": "if_need_be"},
    "best_slots": ["01937c4e-aaaa-7000-8000-000000000101"]
}))]
pub struct PollByLink {
    pub poll_id: Id,
    pub title: String,
    pub description: String,
    pub time_zone: String,
    pub language: Language,
    pub status: PollStatus,
    pub closes_at: Option<DateTime<Utc>>,
    /// The participant's name.
    pub name: String,
    pub slots: Vec<Slot>,
    /// Their own answer per slot id.
    #[schema(value_type = BTreeMap<String, PollAnswer>)]
    pub answers: BTreeMap<String, PollAnswer>,
    pub best_slots: Vec<Id>,
}

/// Turning a poll into a meeting at one of its slots. The meeting takes the poll's title (unless
/// given), description, zone and language; its invitees are the poll's participants.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "slot_id": "01937c4e-aaaa-7000-8000-000000000101",
    "place": "Oslo Cancer Cluster Innovation Park, room 3",
    "video_url": "https://meet.example.org/wg4"
}))]
pub struct SchedulePoll {
    pub slot_id: Id,
    /// The poll's title when absent.
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 300)]
    pub place: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$"
    )]
    pub video_url: Option<String>,
}

/// The slots as UTC intervals, checked: 1 to 50, each ending after it starts, in the future, no
/// two alike. Errors name `slots[i].start`/`.end`.
pub fn check_slots(
    slots: &[NewSlot],
    tz: Tz,
    now: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, NaiveDateTime)>, ApiError> {
    if slots.is_empty() {
        return Err(ApiError::invalid(
            "slots",
            "too_few",
            "propose at least one time",
        ));
    }
    if slots.len() > MAX_SLOTS {
        return Err(ApiError::invalid(
            "slots",
            "too_many",
            format!("propose at most {MAX_SLOTS} times"),
        ));
    }
    let mut out = Vec::with_capacity(slots.len());
    let mut seen = HashSet::new();
    let mut v = Validator::new();
    for (i, s) in slots.iter().enumerate() {
        let start = to_utc(s.start, tz, &format!("slots[{i}].start"))?;
        let end = to_utc(s.end, tz, &format!("slots[{i}].end"))?;
        v.check(
            end > start,
            &format!("slots[{i}].end"),
            "before_start",
            "must be after the start",
        );
        v.check(
            start > now,
            &format!("slots[{i}].start"),
            "in_the_past",
            "must be in the future",
        );
        v.check(
            seen.insert((start, end)),
            &format!("slots[{i}]"),
            "duplicate",
            "the same time is proposed twice",
        );
        out.push((start, end));
    }
    v.finish()?;
    Ok(out)
}

/// A guest's name and address, checked (`field`: where they are in the request).
pub fn check_guest(g: &NewGuest, field: &str) -> Result<(String, String), ApiError> {
    let name = g.name.trim().to_owned();
    let email = normalise_email(&g.email);
    let mut v = Validator::new();
    v.text(&format!("{field}.name"), &name, 200);
    v.check(
        email.len() <= 254,
        &format!("{field}.email"),
        "too_long",
        "must be at most 254 characters",
    );
    v.email(&format!("{field}.email"), &email);
    v.finish()?;
    Ok((name, email))
}

/// The text fields of a poll, checked.
pub fn check_text(title: &str, description: &str) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("title", title, 200);
    v.check(
        description.chars().count() <= DESCRIPTION_MAX,
        "description",
        "too_long",
        format!("must be at most {DESCRIPTION_MAX} characters"),
    );
    v.finish()
}

/// Counts the answers of `participants` participants for one slot.
pub fn tally<'a>(answers: impl Iterator<Item = &'a PollAnswer>, participants: i64) -> Tally {
    let mut t = Tally::default();
    for a in answers {
        match a {
            PollAnswer::Yes => t.yes += 1,
            PollAnswer::IfNeedBe => t.if_need_be += 1,
            PollAnswer::No => t.no += 1,
        }
    }
    t.no_answer = (participants - t.yes - t.if_need_be - t.no).max(0);
    t
}

/// The slots' ids, best first: most `yes` + `if_need_be`, then most `yes`, then the earliest
/// start (then end, then id, so the order is total).
pub fn rank(slots: &[Slot]) -> Vec<Id> {
    let mut order: Vec<&Slot> = slots.iter().collect();
    order.sort_by(|a, b| {
        let key = |s: &Slot| {
            (
                std::cmp::Reverse(s.tally.yes + s.tally.if_need_be),
                std::cmp::Reverse(s.tally.yes),
                s.starts_at,
                s.ends_at,
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.id.as_str().cmp(b.id.as_str()))
    });
    order.into_iter().map(|s| s.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn slot(start: &str, yes: i64, maybe: i64) -> Slot {
        Slot {
            id: Id::new(),
            starts_at: t(start).and_utc(),
            ends_at: t(start).and_utc() + chrono::TimeDelta::hours(1),
            local_start: t(start),
            local_end: t(start),
            tally: Tally {
                yes,
                if_need_be: maybe,
                no: 0,
                no_answer: 0,
            },
        }
    }

    #[test]
    fn the_best_slots_have_most_takers_then_most_yes_then_come_first() {
        let slots = [
            slot("2027-03-01T10:00:00", 1, 1),
            slot("2027-03-02T10:00:00", 2, 0),
            slot("2027-03-03T10:00:00", 3, 0),
            slot("2027-02-28T10:00:00", 2, 0),
            slot("2027-02-01T10:00:00", 0, 0),
        ];
        let ranked = rank(&slots);
        let expected: Vec<Id> = [2, 3, 1, 0, 4]
            .iter()
            .map(|&i| slots[i].id.clone())
            .collect();
        assert_eq!(ranked, expected);
    }

    #[test]
    fn a_tally_counts_the_silent_too() {
        let answers = [PollAnswer::Yes, PollAnswer::No, PollAnswer::IfNeedBe];
        assert_eq!(
            tally(answers.iter(), 5),
            Tally {
                yes: 1,
                if_need_be: 1,
                no: 1,
                no_answer: 2
            }
        );
    }

    #[test]
    fn slots_are_checked_in_the_zone() {
        let oslo: Tz = "Europe/Oslo".parse().unwrap();
        let now = t("2027-01-01T00:00:00");
        let ok = check_slots(
            &[
                NewSlot {
                    start: t("2027-03-26T14:00:00"),
                    end: t("2027-03-26T15:00:00"),
                },
                NewSlot {
                    start: t("2027-03-29T14:00:00"),
                    end: t("2027-03-29T15:00:00"),
                },
            ],
            oslo,
            now,
        )
        .unwrap();
        assert_eq!(ok[0].0, t("2027-03-26T13:00:00"));
        assert_eq!(ok[1].0, t("2027-03-29T12:00:00"));
        assert!(check_slots(&[], oslo, now).is_err());
        let twice = NewSlot {
            start: t("2027-03-26T14:00:00"),
            end: t("2027-03-26T15:00:00"),
        };
        assert!(check_slots(&[twice.clone(), twice], oslo, now).is_err());
        let backwards = NewSlot {
            start: t("2027-03-26T14:00:00"),
            end: t("2027-03-26T13:00:00"),
        };
        assert!(check_slots(&[backwards], oslo, now).is_err());
        let skipped = NewSlot {
            start: t("2027-03-28T02:30:00"),
            end: t("2027-03-28T03:30:00"),
        };
        assert!(check_slots(&[skipped], oslo, now).is_err());
    }
}
