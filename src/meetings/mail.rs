//! The e-mails of RFC 5546 (iTIP): an invitation or a change (METHOD:REQUEST) and a cancellation
//! (METHOD:CANCEL), each with the meeting's calendar object, so the invitee's calendar places,
//! moves or removes the meeting by its UID and SEQUENCE. Invitations and changes carry three
//! one-click answer links, each a signed token naming the invitee and the meeting.

use chrono::{Datelike, NaiveDateTime, TimeDelta, Utc, Weekday};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::ics::{self, Organizer};
use super::model::{Language, Meeting, MeetingStatus};
use super::repo::{InviteeRow, MeetingRow, invitee_rows};
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::repo::enqueue_with_calendar;
use crate::notifications::{Kind, Mailer, Recipient};
use crate::schema::{bodies as b, meetings as m, users as u};

/// The purpose answer tokens are signed for (a token of another purpose never opens as one).
pub const ANSWER_PURPOSE: &str = "meeting-answer";

/// METHOD:REQUEST to the given invitees (all when None): kind meeting_invitation.
pub fn invite(
    conn: &mut DbConn,
    mailer: &Mailer,
    meeting_id: &str,
    only: Option<&[Id]>,
) -> Result<(), ApiError> {
    send(
        conn,
        mailer,
        meeting_id,
        only,
        Kind::MeetingInvitation,
        None,
    )
}

/// METHOD:REQUEST with the raised SEQUENCE to every invitee: kind meeting_updated.
pub fn updated(conn: &mut DbConn, mailer: &Mailer, meeting_id: &str) -> Result<(), ApiError> {
    send(conn, mailer, meeting_id, None, Kind::MeetingUpdated, None)
}

/// METHOD:CANCEL to the given invitees (all when None): kind meeting_cancelled.
pub fn cancelled(
    conn: &mut DbConn,
    mailer: &Mailer,
    meeting_id: &str,
    only: Option<&[Id]>,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    send(
        conn,
        mailer,
        meeting_id,
        only,
        Kind::MeetingCancelled,
        reason,
    )
}

/// After a change: a cancellation (set through the status) tells everyone so, a change of time
/// or place (the sequence rose) sends the new calendar entry; anything else sends nothing.
pub fn after_update(
    conn: &mut DbConn,
    mailer: &Mailer,
    meeting_id: &str,
    sequence_before: i32,
    status_before: MeetingStatus,
) -> Result<(), ApiError> {
    let (sequence, status): (i32, MeetingStatus) = m::table
        .filter(m::id.eq(meeting_id))
        .select((m::sequence, m::status))
        .first(conn)?;
    if status == MeetingStatus::Cancelled && status_before != MeetingStatus::Cancelled {
        cancelled(conn, mailer, meeting_id, None, None)
    } else if sequence > sequence_before {
        updated(conn, mailer, meeting_id)
    } else {
        Ok(())
    }
}

/// What an answer token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerToken {
    pub meeting_id: String,
    pub invitee_id: String,
}

/// The answer token of an invitee: valid until the meeting's end and a day (a series: until its
/// last occurrence's end and a day; an endless one, a year from its first end or from now,
/// whichever is later).
pub fn answer_token(mailer: &Mailer, meeting: &Meeting, invitee_id: &str) -> String {
    let end = match &meeting.rrule {
        None => meeting.ends_at,
        Some(rule) => super::model::zone(&meeting.time_zone, "time_zone")
            .ok()
            .and_then(|tz| super::recurrence::last_start(rule, meeting.starts_at.naive_utc(), tz))
            .map(|last| last.and_utc() + (meeting.ends_at - meeting.starts_at))
            .unwrap_or_else(|| meeting.ends_at.max(Utc::now()) + TimeDelta::days(364)),
    };
    mailer.sign_expiring(
        ANSWER_PURPOSE,
        &[meeting.id.as_str(), invitee_id],
        end + TimeDelta::days(1),
    )
}

/// Opens an answer token: `None` when forged, damaged, expired or made for something else.
pub fn open_answer_token(mailer: &Mailer, token: &str) -> Option<AnswerToken> {
    let mut fields = mailer.open_expiring(ANSWER_PURPOSE, token)?.into_iter();
    let (meeting_id, invitee_id) = (fields.next()?, fields.next()?);
    if fields.next().is_some() {
        return None;
    }
    Some(AnswerToken {
        meeting_id,
        invitee_id,
    })
}

const WEEKDAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const WEEKDAYS_NB: [&str; 7] = [
    "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_NB: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];

fn day(t: NaiveDateTime, lang: Language) -> String {
    let w = t.weekday().num_days_from_monday() as usize;
    let mo = t.month0() as usize;
    match lang {
        Language::En => format!(
            "{} {} {} {}",
            WEEKDAYS_EN[w],
            t.day(),
            MONTHS_EN[mo],
            t.year()
        ),
        Language::Nb => format!(
            "{} {}. {} {}",
            WEEKDAYS_NB[w],
            t.day(),
            MONTHS_NB[mo],
            t.year()
        ),
    }
}

/// The meeting's local date and time in its language: `Tuesday 9 March 2027, 14:00–15:00`,
/// `tirsdag 9. mars 2027, 14:00–15:00`; an end on another day names its day too.
pub fn when(start: NaiveDateTime, end: NaiveDateTime, lang: Language) -> String {
    if start.date() == end.date() {
        format!(
            "{}, {}–{}",
            day(start, lang),
            start.format("%H:%M"),
            end.format("%H:%M")
        )
    } else {
        format!(
            "{}, {} – {}, {}",
            day(start, lang),
            start.format("%H:%M"),
            day(end, lang),
            end.format("%H:%M")
        )
    }
}

/// Keeps `Weekday` in use for readers: Monday is index 0 of the tables above.
const _: () = assert!(Weekday::Mon as usize == 0);

fn send(
    conn: &mut DbConn,
    mailer: &Mailer,
    meeting_id: &str,
    only: Option<&[Id]>,
    kind: Kind,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    let row: MeetingRow = m::table
        .filter(m::id.eq(meeting_id))
        .select(MeetingRow::as_select())
        .first(conn)?;
    let cancel = kind == Kind::MeetingCancelled;
    // A cancelled meeting sends nothing more but its own cancellation.
    if row.status == MeetingStatus::Cancelled && !(cancel && only.is_none()) {
        return Ok(());
    }
    let body_name: Option<String> = match &row.body_id {
        Some(body) => b::table
            .filter(b::id.eq(body.as_str()))
            .select(b::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let meeting = row.into_meeting(0, None);
    let all = invitee_rows(conn, meeting_id)?;
    let chosen = |i: &InviteeRow| only.is_none_or(|ids| ids.contains(&i.id));
    // A cancellation to some invitees names them only (RFC 5546 §3.2.5); the rest name everyone.
    let listed: Vec<InviteeRow> = all
        .iter()
        .filter(|i| !cancel || chosen(i))
        .cloned()
        .collect();
    let targets: Vec<&InviteeRow> = all.iter().filter(|i| chosen(i)).collect();
    if targets.is_empty() {
        return Ok(());
    }
    let mut shown = meeting.clone();
    if cancel {
        shown.status = MeetingStatus::Cancelled;
    }
    let organizer_name = mailer.from.name.clone().unwrap_or_else(|| "CONNECT".into());
    let organizer_email = mailer.from.email.to_string();
    let calendar = ics::render(
        &shown,
        &listed,
        &Organizer {
            name: &organizer_name,
            email: &organizer_email,
        },
        if cancel { "CANCEL" } else { "REQUEST" },
        now().and_utc(),
    );
    let lang = meeting.language;
    for i in targets {
        let Some(address) = i.address() else {
            continue;
        };
        let user_id: Option<String> = match &i.person_id {
            Some(person) => u::table
                .filter(u::person_id.eq(person.as_str()))
                .filter(u::active.eq(true))
                .select(u::id)
                .first(conn)
                .optional()?,
            None => None,
        };
        let to = Recipient {
            email: address.to_owned(),
            name: i.person_name.clone().or_else(|| i.guest_name.clone()),
            user_id,
            language: lang,
        };
        let mut values = json!({
            "title": meeting.title,
            "body": body_name,
            "organizer": organizer_name,
            "when": when(meeting.local_start, meeting.local_end, lang),
            "time_zone": meeting.time_zone,
        });
        if let Some(map) = values.as_object_mut() {
            if cancel {
                map.insert("reason".into(), json!(reason));
            } else {
                let token = answer_token(mailer, &meeting, &i.id);
                let link = |response: &str| {
                    Value::String(mailer.link(&format!(
                        "/meetings/answer?token={token}&response={response}"
                    )))
                };
                map.insert("place".into(), json!(meeting.place));
                map.insert("video_url".into(), json!(meeting.video_url));
                map.insert("description".into(), json!(meeting.description));
                map.insert(
                    "link".into(),
                    json!(mailer.link(&format!("/api/v1/meetings/{}", meeting.id))),
                );
                map.insert("accept_link".into(), link("accepted"));
                map.insert("tentative_link".into(), link("tentative"));
                map.insert("decline_link".into(), link("declined"));
            }
        }
        enqueue_with_calendar(conn, mailer, kind, &to, values, Some(calendar.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_reads_in_the_meetings_language() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            when(t("2027-03-09 14:00"), t("2027-03-09 15:00"), Language::En),
            "Tuesday 9 March 2027, 14:00–15:00"
        );
        assert_eq!(
            when(t("2027-03-09 14:00"), t("2027-03-09 15:00"), Language::Nb),
            "tirsdag 9. mars 2027, 14:00–15:00"
        );
        assert_eq!(
            when(t("2027-03-09 22:00"), t("2027-03-10 01:00"), Language::En),
            "Tuesday 9 March 2027, 22:00 – Wednesday 10 March 2027, 01:00"
        );
    }
}
