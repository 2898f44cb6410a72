//! The day-before reminders: each invitee with a person who accepted a meeting starting in the
//! next 24 hours gets `meeting_reminder` once (unless they turned reminders off). A series' master
//! is expanded in its zone; an occurrence changed alone (a meeting row of its own) is reminded as
//! that row, not as the master's occurrence. "Once" holds across instances: the reminder's row in
//! `meeting_reminders` (meeting, occurrence start, invitee) is inserted first, in a savepoint, and
//! only the insert that wins sends.

use std::collections::HashSet;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;

use super::mail::when;
use super::model::{MeetingStatus, Rsvp, to_local, zone};
use super::recurrence::starts_between;
use super::repo::MeetingRow;
use crate::core::now;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::{Kind, Mailer, Recipient, enqueue};
use crate::schema::{
    bodies as b, meeting_invitees as mi, meeting_reminders as mr, meetings as m, people as p,
    users as u,
};

/// How far ahead a meeting is reminded.
pub const AHEAD: TimeDelta = TimeDelta::hours(24);

/// The job as the notification worker runs it (see `notifications::worker::PeriodicJob`).
pub fn job(conn: &mut DbConn, mailer: &Mailer) -> Result<usize, ApiError> {
    due(conn, mailer, now())
}

/// Reminds the meetings and occurrences starting within `[at, at + 24 h)`; returns how many
/// messages it queued. Call it inside a write transaction.
pub fn due(conn: &mut DbConn, mailer: &Mailer, at: NaiveDateTime) -> Result<usize, ApiError> {
    let until = at + AHEAD;
    let plain: Vec<MeetingRow> = m::table
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .filter(m::rrule.is_null())
        .filter(m::starts_at.ge(at))
        .filter(m::starts_at.lt(until))
        .order(m::starts_at.asc())
        .select(MeetingRow::as_select())
        .load(conn)?;
    let mut queued = 0;
    for row in &plain {
        queued += remind(conn, mailer, row, row.starts_at, row.ends_at)?;
    }
    let masters: Vec<MeetingRow> = m::table
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .filter(m::rrule.is_not_null())
        .filter(m::starts_at.lt(until))
        .select(MeetingRow::as_select())
        .load(conn)?;
    for master in &masters {
        let (Some(rrule), Ok(tz)) = (&master.rrule, zone(&master.time_zone, "time_zone")) else {
            continue;
        };
        let (starts, _) = starts_between(rrule, master.starts_at, tz, at, until)?;
        if starts.is_empty() {
            continue;
        }
        let overridden: HashSet<NaiveDateTime> = m::table
            .filter(m::series_id.eq(master.id.as_str()))
            .select(m::occurrence_of.assume_not_null())
            .filter(m::occurrence_of.is_not_null())
            .load::<NaiveDateTime>(conn)?
            .into_iter()
            .collect();
        let duration = master.ends_at - master.starts_at;
        for start in starts.into_iter().filter(|s| !overridden.contains(s)) {
            queued += remind(conn, mailer, master, start, start + duration)?;
        }
    }
    Ok(queued)
}

/// Claims one reminder: true for the one transaction whose insert succeeds (in a savepoint, so
/// on PostgreSQL the loser's transaction stays usable).
fn claim(
    conn: &mut DbConn,
    meeting_id: &str,
    start: NaiveDateTime,
    invitee_id: &str,
) -> Result<bool, ApiError> {
    let inserted = conn.transaction::<_, DieselError, _>(|conn| {
        diesel::insert_into(mr::table)
            .values((
                mr::meeting_id.eq(meeting_id),
                mr::occurrence_start.eq(start),
                mr::invitee_id.eq(invitee_id),
                mr::sent_at.eq(now()),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn remind(
    conn: &mut DbConn,
    mailer: &Mailer,
    row: &MeetingRow,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<usize, ApiError> {
    let accepted: Vec<(String, String, String, String)> = mi::table
        .inner_join(p::table)
        .filter(mi::meeting_id.eq(row.id.as_str()))
        .filter(mi::response.eq(Rsvp::Accepted))
        .select((mi::id, p::id, p::name, p::email))
        .load(conn)?;
    if accepted.is_empty() {
        return Ok(0);
    }
    let sent: HashSet<String> = mr::table
        .filter(mr::meeting_id.eq(row.id.as_str()))
        .filter(mr::occurrence_start.eq(start))
        .select(mr::invitee_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let body_name: Option<String> = match &row.body_id {
        Some(body) => b::table
            .filter(b::id.eq(body.as_str()))
            .select(b::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    let mut queued = 0;
    for (invitee_id, person_id, name, email) in accepted {
        if sent.contains(&invitee_id) || !claim(conn, row.id.as_str(), start, &invitee_id)? {
            continue;
        }
        let user_id: Option<String> = u::table
            .filter(u::person_id.eq(&person_id))
            .filter(u::active.eq(true))
            .select(u::id)
            .first(conn)
            .optional()?;
        let to = Recipient {
            email,
            name: Some(name),
            user_id,
            language: row.language,
        };
        let values = json!({
            "title": row.title,
            "body": body_name,
            "when": when(to_local(start, tz), to_local(end, tz), row.language),
            "time_zone": row.time_zone,
            "place": row.place,
            "video_url": row.video_url,
            "link": mailer.link(&format!("/api/v1/meetings/{}", row.id)),
        });
        if enqueue(conn, mailer, Kind::MeetingReminder, &to, values)?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}
