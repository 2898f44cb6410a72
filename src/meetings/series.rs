//! Series of meetings: a master (a meeting with an RRULE, its times the first occurrence) expanded
//! into occurrences on demand; one occurrence changed or cancelled alone as an override row (its
//! own times, status and invitees, `occurrence_of` its original start); "this and following"
//! edits by splitting the series; and the busy times of people, occurrences included.
//!
//! Nothing unbounded is stored: occurrences exist only as computed, at most
//! [`recurrence::MAX_OCCURRENCES`] per series and expansion.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::mail;
use super::model::{CancelMeeting, Meeting, MeetingStatus, Rsvp, UpdateMeeting, zone};
use super::recurrence;
use super::repo::{self, MeetingRow};
use crate::audit;
use crate::auth::Caller;
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, won_race};
use crate::notifications::Mailer;
use crate::schema::{meeting_invitees as mi, meetings as m, people as p};

/// How far an open-ended expansion looks ahead (it stops at [`recurrence::MAX_OCCURRENCES`]).
const HORIZON_DAYS: i64 = 366 * 100;

fn tz_of(row: &MeetingRow) -> Tz {
    zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC)
}

fn one_second() -> TimeDelta {
    TimeDelta::seconds(1)
}

/// A new series' rule, checked against its first start: normalised, and 422 unless the first
/// start is itself an occurrence of the rule (RFC 5545 counts DTSTART as the first one; a rule
/// that would skip it reads ambiguously in calendars).
pub fn check_first(rrule: &str, first: NaiveDateTime, tz: Tz) -> Result<String, ApiError> {
    let rule = recurrence::check(rrule, first, tz)?;
    let (starts, _) = recurrence::starts_between(&rule, first, tz, first, first + one_second())?;
    if starts.first() != Some(&first) {
        return Err(ApiError::invalid(
            "rrule",
            "start_not_an_occurrence",
            "the start is not an occurrence of the rule (e.g. BYDAY=TU with a start on a Monday)",
        ));
    }
    Ok(rule)
}

/// The occurrence of `master` starting at `start` (UTC), as a row: the master's id, its
/// `series_id` the master, `occurrence_of` the start, times shifted, no rule.
pub fn occurrence_row(master: &MeetingRow, start: NaiveDateTime) -> MeetingRow {
    let mut r = master.clone();
    r.ends_at = start + (master.ends_at - master.starts_at);
    r.starts_at = start;
    r.series_id = Some(master.id.clone());
    r.occurrence_of = Some(start);
    r.rrule = None;
    r
}

/// The original starts of a series' occurrences that have an override row.
fn overridden(conn: &mut DbConn, master_id: &str) -> Result<HashSet<NaiveDateTime>, ApiError> {
    Ok(m::table
        .filter(m::series_id.eq(master_id))
        .filter(m::occurrence_of.is_not_null())
        .select(m::occurrence_of.assume_not_null())
        .load::<NaiveDateTime>(conn)?
        .into_iter()
        .collect())
}

/// The occurrences of a master overlapping `[from, to)` that have no override row, by start;
/// with `after` only those sorting after that (start, id) key; with `max` only the first `max`
/// of them (a page takes no more from one series, so a long range costs no more than a page).
pub fn expand(
    conn: &mut DbConn,
    master: &MeetingRow,
    from: NaiveDateTime,
    to: NaiveDateTime,
    after: Option<(NaiveDateTime, &str)>,
    max: Option<usize>,
) -> Result<Vec<MeetingRow>, ApiError> {
    let Some(rule) = &master.rrule else {
        return Ok(Vec::new());
    };
    let duration = master.ends_at - master.starts_at;
    // Overlapping: starts before `to` and ends after `from`.
    let mut lo = from - duration + one_second();
    if let Some((t, _)) = after {
        lo = lo.max(t);
    }
    let tz = tz_of(master);
    // One more than asked: the start equal to `after`'s may be dropped below.
    let cap = |extra: usize| {
        max.map_or(recurrence::MAX_OCCURRENCES, |n| {
            u16::try_from(n + 1 + extra).unwrap_or(recurrence::MAX_OCCURRENCES)
        })
    };
    let (mut starts, _) =
        recurrence::first_starts_between(rule, master.starts_at, tz, lo, to, cap(0))?;
    if starts.is_empty() {
        return Ok(Vec::new());
    }
    let skip = overridden(conn, &master.id)?;
    if !skip.is_empty() && starts.len() >= usize::from(cap(0)) {
        // Occurrences changed alone are left out here: fetch as many more.
        starts =
            recurrence::first_starts_between(rule, master.starts_at, tz, lo, to, cap(skip.len()))?
                .0;
    }
    Ok(starts
        .into_iter()
        .filter(|s| !skip.contains(s))
        .filter(|s| match after {
            Some((t, id)) => (*s, master.id.as_str()) > (t, id),
            None => true,
        })
        .take(max.unwrap_or(usize::MAX))
        .map(|s| occurrence_row(master, s))
        .collect())
}

/// Whether `start` (UTC) is an occurrence of the master's rule.
fn is_occurrence(master: &MeetingRow, start: NaiveDateTime) -> Result<bool, ApiError> {
    let Some(rule) = &master.rrule else {
        return Ok(false);
    };
    let (starts, _) = recurrence::starts_between(
        rule,
        master.starts_at,
        tz_of(master),
        start,
        start + one_second(),
    )?;
    Ok(starts.first() == Some(&start))
}

/// A series' master the caller sees (404 when it is no series).
fn visible_master(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<(MeetingRow, repo::Access), ApiError> {
    let (row, a) = repo::visible(conn, caller, id)?;
    if row.rrule.is_none() {
        return Err(ApiError::NotFound);
    }
    Ok((row, a))
}

fn override_of(
    conn: &mut DbConn,
    master_id: &str,
    start: NaiveDateTime,
) -> Result<Option<MeetingRow>, ApiError> {
    Ok(m::table
        .filter(m::series_id.eq(master_id))
        .filter(m::occurrence_of.eq(start))
        .select(MeetingRow::as_select())
        .load::<MeetingRow>(conn)?
        .into_iter()
        .next())
}

/// Stores a meeting row as it is (a new override or master), by the caller.
fn insert_row(conn: &mut DbConn, caller: &Caller, r: &MeetingRow) -> Result<(), ApiError> {
    use diesel::result::{DatabaseErrorKind, Error};
    diesel::insert_into(m::table)
        .values((
            m::id.eq(&r.id),
            m::kind.eq(r.kind),
            m::body_id.eq(&r.body_id),
            m::series_id.eq(&r.series_id),
            m::occurrence_of.eq(r.occurrence_of),
            m::uid.eq(&r.uid),
            m::sequence.eq(r.sequence),
            m::title.eq(&r.title),
            m::description.eq(&r.description),
            m::starts_at.eq(r.starts_at),
            m::ends_at.eq(r.ends_at),
            m::time_zone.eq(&r.time_zone),
            m::place.eq(&r.place),
            m::video_url.eq(&r.video_url),
            m::language.eq(r.language),
            m::status.eq(r.status),
            m::cancel_reason.eq(&r.cancel_reason),
            m::cancelled_at.eq(r.cancelled_at),
            m::recording_url.eq(&r.recording_url),
            m::created_by.eq(caller.author()),
            m::created_at.eq(r.created_at),
            m::updated_at.eq(r.updated_at),
            m::version.eq(r.version),
            m::rrule.eq(&r.rrule),
            m::capacity.eq(r.capacity),
        ))
        .execute(conn)
        .map_err(|e| match e {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => ApiError::conflict(
                "the occurrence was changed alone at the same moment; read it again",
            ),
            e => e.into(),
        })?;
    Ok(())
}

/// Copies a meeting's invitees, with their answers, to another meeting.
fn copy_invitees(conn: &mut DbConn, from: &str, to: &str) -> Result<(), ApiError> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Rsvp,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = mi::table
        .filter(mi::meeting_id.eq(from))
        .order(mi::id.asc())
        .select((
            mi::person_id,
            mi::guest_name,
            mi::guest_email,
            mi::response,
            mi::responded_at,
        ))
        .load(conn)?;
    let t = now();
    for (person_id, guest_name, guest_email, response, responded_at) in rows {
        diesel::insert_into(mi::table)
            .values((
                mi::id.eq(Id::new()),
                mi::meeting_id.eq(to),
                mi::person_id.eq(person_id),
                mi::guest_name.eq(guest_name),
                mi::guest_email.eq(guest_email),
                mi::response.eq(response),
                mi::responded_at.eq(responded_at),
                mi::created_at.eq(t),
                mi::version.eq(1),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The occurrence of a series starting at `start` (UTC) as a row of its own: the existing
/// override, or a new one copying the master and its invitees (`true` when new). Those who
/// manage the series only; 404 when `start` is no occurrence of it.
pub fn materialise_row(
    conn: &mut DbConn,
    caller: &Caller,
    master_id: &str,
    start: NaiveDateTime,
) -> Result<(MeetingRow, MeetingRow, bool), ApiError> {
    let (master, a) = visible_master(conn, caller, master_id)?;
    crate::auth::policy::manage_meeting(caller, master.kind, &a.seats)?;
    if let Some(row) = override_of(conn, master_id, start)? {
        return Ok((master, row, false));
    }
    if !is_occurrence(&master, start)? {
        return Err(ApiError::NotFound);
    }
    if master.status == MeetingStatus::Cancelled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the series is cancelled",
        ));
    }
    let t = now();
    let mut row = occurrence_row(&master, start);
    row.id = Id::new();
    row.created_at = t;
    row.updated_at = t;
    row.version = 1;
    insert_row(conn, caller, &row)?;
    copy_invitees(conn, master_id, &row.id)?;
    let created = repo::get(conn, caller, &row.id)?;
    audit::created(conn, &caller.actor(), "meeting", &row.id, &created)?;
    Ok((master, row, true))
}

/// Materialises one occurrence (idempotent): the occurrence as a meeting, `true` when new.
pub fn materialise(
    conn: &mut DbConn,
    caller: &Caller,
    master_id: &str,
    start: NaiveDateTime,
) -> Result<(Meeting, bool), ApiError> {
    let (_, row, new) = materialise_row(conn, caller, master_id, start)?;
    Ok((repo::get(conn, caller, &row.id)?, new))
}

/// Changes one occurrence alone. `If-Match`: the version shown for the occurrence (the
/// master's while it was not changed alone, then its own).
pub fn update_occurrence(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    master_id: &str,
    start: NaiveDateTime,
    if_match: &IfMatch,
    patch: UpdateMeeting,
) -> Result<Meeting, ApiError> {
    if patch.rrule.is_some() {
        return Err(ApiError::invalid(
            "rrule",
            "not_a_series",
            "one occurrence has no rule; change the series' master",
        ));
    }
    let (master, row, new) = materialise_row(conn, caller, master_id, start)?;
    if new {
        if_match.check(master.version)?;
        repo::update(conn, caller, mailer, &row.id, &IfMatch(None), patch)
    } else {
        repo::update(conn, caller, mailer, &row.id, if_match, patch)
    }
}

/// Cancels one occurrence alone: its override, cancelled.
pub fn cancel_occurrence(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    master_id: &str,
    start: NaiveDateTime,
    req: CancelMeeting,
) -> Result<Meeting, ApiError> {
    let (_, row, _) = materialise_row(conn, caller, master_id, start)?;
    repo::cancel(conn, caller, mailer, &row.id, req)
}

/// The first occurrence of a master starting after `t`, if any.
fn next_after(master: &MeetingRow, t: NaiveDateTime) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(rule) = &master.rrule else {
        return Ok(None);
    };
    let (starts, _) = recurrence::starts_between(
        rule,
        master.starts_at,
        tz_of(master),
        t + one_second(),
        t + TimeDelta::days(HORIZON_DAYS),
    )?;
    Ok(starts.first().copied())
}

/// Ends a master's rule before `split` (sequence raised), conditional on its version.
fn end_before(
    conn: &mut DbConn,
    caller: &Caller,
    master: &MeetingRow,
    split: NaiveDateTime,
) -> Result<String, ApiError> {
    let Some(rule) = &master.rrule else {
        return Err(ApiError::NotFound);
    };
    let ended = recurrence::ended_before(rule, master.starts_at, tz_of(master), split)?;
    won_race(
        diesel::update(
            m::table
                .filter(m::id.eq(&master.id))
                .filter(m::version.eq(master.version)),
        )
        .set((
            m::rrule.eq(Some(&ended)),
            m::sequence.eq(master.sequence + 1),
            m::updated_at.eq(now()),
            m::version.eq(master.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::updated(
        conn,
        &caller.actor(),
        "meeting",
        &master.id,
        serde_json::json!({"rrule": {"from": rule, "to": ended}}),
    )?;
    Ok(ended)
}

/// "This and the following": a series whose first occurrence is past is split at its next
/// occurrence after now. The old master's rule ends before it; a new master (new id and UID)
/// starts there with the changes, its invitees copied with their answers. Overrides at or after
/// the split move to the new series when their original start is still one of its occurrences,
/// and are cancelled (kept, with whatever agenda or minutes they hold) otherwise. Returns the new master.
pub fn split(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    master: MeetingRow,
    patch: UpdateMeeting,
) -> Result<Meeting, ApiError> {
    let t = now();
    let Some(at) = next_after(&master, t)? else {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the series has no occurrence left to change",
        ));
    };
    let Some(rule) = master.rrule.clone() else {
        return Err(ApiError::NotFound);
    };
    let tz = tz_of(&master);
    // The rest of a counted rule becomes an UNTIL at its last occurrence.
    let rest = if rule.contains("COUNT=") {
        let (starts, _) = recurrence::starts_between(
            &rule,
            master.starts_at,
            tz,
            at,
            at + TimeDelta::days(HORIZON_DAYS),
        )?;
        let last = starts.last().copied().unwrap_or(at);
        recurrence::ended_before(&rule, master.starts_at, tz, last + one_second())?
    } else {
        rule.clone()
    };
    end_before(conn, caller, &master, at)?;
    let id = Id::new();
    let mut next = occurrence_row(&master, at);
    next.id = id.clone();
    next.uid = format!("{id}@connect");
    next.series_id = None;
    next.occurrence_of = None;
    next.rrule = Some(check_first(&rest, at, tz)?);
    next.sequence = 0;
    next.version = 1;
    next.created_at = t;
    next.updated_at = t;
    insert_row(conn, caller, &next)?;
    let created = repo::get(conn, caller, &id)?;
    audit::created(conn, &caller.actor(), "meeting", &id, &created)?;
    repo::emit_scheduled(conn, &id, false)?;
    // The changes, on the new master (its first occurrence is in the future: changed in place),
    // before its invitees are copied: they get one invitation to the new series, not an update.
    repo::update(conn, caller, mailer, &id, &IfMatch(None), patch)?;
    copy_invitees(conn, &master.id, &id)?;
    let changed = repo::get(conn, caller, &id)?;
    // The old series' calendars end before the split; the new one is an invitation.
    mail::updated(conn, mailer, &master.id)?;
    mail::invite(conn, mailer, &id, None)?;
    let new_master = repo::find(conn, &id)?;
    let moved: Vec<(Id, NaiveDateTime)> = m::table
        .filter(m::series_id.eq(&master.id))
        .filter(m::occurrence_of.ge(at))
        .select((m::id, m::occurrence_of.assume_not_null()))
        .load(conn)?;
    for (override_id, original) in moved {
        if is_occurrence(&new_master, original)? {
            diesel::update(m::table.filter(m::id.eq(&override_id)))
                .set((m::series_id.eq(Some(&id)), m::uid.eq(&new_master.uid)))
                .execute(conn)?;
            audit::updated(
                conn,
                &caller.actor(),
                "meeting",
                &override_id,
                serde_json::json!({"series_id": {"from": master.id, "to": id}}),
            )?;
        } else {
            // No longer an occurrence of either series: kept (it may hold an agenda, minutes or
            // action items, which must not be lost), cancelled with the old series.
            let before = repo::get(conn, caller, &override_id)?;
            if before.status == MeetingStatus::Scheduled {
                diesel::update(m::table.filter(m::id.eq(&override_id)))
                    .set((
                        m::status.eq(MeetingStatus::Cancelled),
                        m::cancel_reason.eq(Some("the series was changed from this date")),
                        m::cancelled_at.eq(Some(t)),
                        m::sequence.eq(m::sequence + 1),
                        m::updated_at.eq(t),
                        m::version.eq(m::version + 1),
                    ))
                    .execute(conn)?;
                audit::updated(
                    conn,
                    &caller.actor(),
                    "meeting",
                    &override_id,
                    serde_json::json!({"status": {"from": before.status, "to": MeetingStatus::Cancelled}}),
                )?;
                repo::emit_cancelled(conn, &override_id, None)?;
            }
        }
    }
    Ok(changed)
}

/// Cancelling a series whose first occurrence is past ends it from now: the rule ends before the
/// next occurrence (past ones stay as they were), and overrides from then on are cancelled.
/// Returns the master (still `scheduled`, its rule with an UNTIL).
pub fn end_series(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    master: MeetingRow,
    req: CancelMeeting,
) -> Result<Meeting, ApiError> {
    let t = now();
    let Some(at) = next_after(&master, t)? else {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the series has no occurrence left to cancel",
        ));
    };
    end_before(conn, caller, &master, at)?;
    repo::emit_cancelled(conn, &master.id, Some(at))?;
    mail::updated(conn, mailer, &master.id)?;
    let later: Vec<Id> = m::table
        .filter(m::series_id.eq(&master.id))
        .filter(m::occurrence_of.ge(at))
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .select(m::id)
        .load(conn)?;
    for id in later {
        repo::cancel(
            conn,
            caller,
            mailer,
            &id,
            CancelMeeting {
                reason: req.reason.clone(),
            },
        )?;
    }
    repo::get(conn, caller, &master.id)
}

/// A page of one series' occurrences overlapping `[from, to)` (from its first start and without
/// end when absent): the computed ones and the overrides, by start.
pub fn occurrences(
    conn: &mut DbConn,
    caller: &Caller,
    master_id: &str,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    page: &crate::http::PageRequest,
) -> Result<crate::http::Page<Meeting>, ApiError> {
    let (master, a) = visible_master(conn, caller, master_id)?;
    let after = page.after_keyed::<NaiveDateTime>()?;
    let from = from.unwrap_or(master.starts_at);
    let to = to.unwrap_or(from + TimeDelta::days(HORIZON_DAYS));
    let mut rows = expand(conn, &master, from, to, after, Some(page.fetch() as usize))?;
    let mut q = m::table
        .filter(m::series_id.eq(master_id))
        .filter(m::ends_at.gt(from))
        .filter(m::starts_at.lt(to))
        .select(MeetingRow::as_select())
        .into_boxed();
    q = crate::db::seek_after!(q, after, m::starts_at, m::id);
    let overrides: Vec<MeetingRow> = q
        .order((m::starts_at.asc(), m::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    rows.extend(overrides);
    rows.sort_by(|x, y| (x.starts_at, x.id.as_str()).cmp(&(y.starts_at, y.id.as_str())));
    rows.truncate(page.fetch() as usize);
    let _ = a;
    repo::page_of(conn, caller, page, rows)
}

/// Someone busy: a person, and a meeting (or a series' occurrence) they answered.
#[derive(Debug, Clone)]
pub struct Busy {
    pub person_id: Id,
    pub name: String,
    pub meeting_id: Id,
    pub title: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
}

/// The scheduled meetings and series occurrences overlapping `[from, to)` that the people
/// answered with one of `responses`, other than `except` (and its occurrences), by person name
/// and start.
pub fn busy(
    conn: &mut DbConn,
    people: &[String],
    responses: &[Rsvp],
    from: NaiveDateTime,
    to: NaiveDateTime,
    except: Option<&str>,
) -> Result<Vec<Busy>, ApiError> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let except = except.unwrap_or("");
    let rows: Vec<(Id, String, Id, String, NaiveDateTime, NaiveDateTime)> = mi::table
        .inner_join(m::table)
        .inner_join(p::table)
        .filter(mi::person_id.assume_not_null().eq_any(people))
        .filter(mi::response.eq_any(responses))
        .filter(m::id.ne(except))
        .filter(m::rrule.is_null())
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .filter(m::starts_at.lt(to))
        .filter(m::ends_at.gt(from))
        .select((p::id, p::name, m::id, m::title, m::starts_at, m::ends_at))
        .load(conn)?;
    let mut out: Vec<Busy> = rows
        .into_iter()
        .map(|(person_id, name, meeting_id, title, s, e)| Busy {
            person_id,
            name,
            meeting_id,
            title,
            starts_at: s,
            ends_at: e,
        })
        .collect();
    let masters: Vec<(Id, String, MeetingRow)> = mi::table
        .inner_join(m::table)
        .inner_join(p::table)
        .filter(mi::person_id.assume_not_null().eq_any(people))
        .filter(mi::response.eq_any(responses))
        .filter(m::id.ne(except))
        .filter(m::rrule.is_not_null())
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .filter(m::starts_at.lt(to))
        .select((p::id, p::name, MeetingRow::as_select()))
        .load(conn)?;
    let mut expanded: HashMap<String, Vec<MeetingRow>> = HashMap::new();
    for (person_id, name, master) in masters {
        if !expanded.contains_key(master.id.as_str()) {
            let rows = expand(conn, &master, from, to, None, None)?;
            expanded.insert(master.id.to_string(), rows);
        }
        for r in expanded.get(master.id.as_str()).into_iter().flatten() {
            out.push(Busy {
                person_id: person_id.clone(),
                name: name.clone(),
                meeting_id: r.id.clone(),
                title: r.title.clone(),
                starts_at: r.starts_at,
                ends_at: r.ends_at,
            });
        }
    }
    out.sort_by(|x, y| {
        (&x.name, x.starts_at, x.meeting_id.as_str()).cmp(&(
            &y.name,
            y.starts_at,
            y.meeting_id.as_str(),
        ))
    });
    Ok(out)
}
