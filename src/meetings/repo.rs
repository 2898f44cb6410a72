//! Database access for meetings and their invitees. Every write runs inside the caller's
//! transaction and writes its audit event there too.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{
    AddInvitee, Answer, Attendance, CancelMeeting, Conflict, CreateMeeting, DEFAULT_TIME_ZONE,
    Invitee, Invitees, Language, Meeting, MeetingKind, MeetingStatus, Rsvp, UpdateMeeting,
    check_capacity, clean, to_local, to_utc, validate, zone,
};
use super::series;
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, MeetingsListed};
use crate::bodies::repo::{caller_person, seats_of};
use crate::core::{BodyRole, BodyStatus, Id, now, today};
use crate::db::{DbConn, MultiBackend, seek_after};
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::notifications::Mailer;
use crate::schema::{
    bodies as b, body_members as bm, meeting_invitees as mi, meetings as m, people as p,
};
use crate::validation::{Validator, normalise_email};
use crate::webhooks::{self, EventType};

/// A meeting as stored.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = m)]
pub struct MeetingRow {
    pub id: Id,
    pub kind: MeetingKind,
    pub body_id: Option<Id>,
    pub uid: String,
    pub sequence: i32,
    pub title: String,
    pub description: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub time_zone: String,
    pub place: Option<String>,
    pub video_url: Option<String>,
    pub language: Language,
    pub status: MeetingStatus,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub recording_url: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub series_id: Option<Id>,
    pub occurrence_of: Option<NaiveDateTime>,
    pub rrule: Option<String>,
    pub capacity: Option<i32>,
    pub registered_count: i32,
}

impl MeetingRow {
    pub(crate) fn into_meeting(self, invitee_count: i64, my_response: Option<Rsvp>) -> Meeting {
        // A zone that no longer parses (it was checked when stored) reads as UTC.
        let tz = zone(&self.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
        Meeting {
            local_start: to_local(self.starts_at, tz),
            local_end: to_local(self.ends_at, tz),
            id: self.id,
            kind: self.kind,
            body_id: self.body_id,
            title: self.title,
            description: self.description,
            starts_at: self.starts_at.and_utc(),
            ends_at: self.ends_at.and_utc(),
            time_zone: self.time_zone,
            place: self.place,
            video_url: self.video_url,
            language: self.language,
            status: self.status,
            cancel_reason: self.cancel_reason,
            cancelled_at: self.cancelled_at.map(|t| t.and_utc()),
            recording_url: self.recording_url,
            uid: self.uid,
            sequence: self.sequence,
            series_id: self.series_id,
            occurrence_of: self.occurrence_of.map(|t| t.and_utc()),
            rrule: self.rrule,
            capacity: self.capacity,
            registered_count: self.registered_count,
            invitee_count,
            my_response,
            conflicts: None,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

/// A meeting's row (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<MeetingRow, ApiError> {
    find_row(conn, id)
}

/// A meeting's row (404 when it does not exist); no `LIMIT`, as every meeting route reads it.
fn find_row(conn: &mut DbConn, id: &str) -> Result<MeetingRow, ApiError> {
    m::table
        .filter(m::id.eq(id))
        .select(MeetingRow::as_select())
        .load::<MeetingRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// Who is asking about one meeting: their person, their seats in its body today and their own
/// invitation.
pub struct Access {
    pub person: Option<String>,
    pub seats: Vec<BodyRole>,
    /// The caller's invitation (id and answer), when invited.
    pub invitation: Option<(Id, Rsvp)>,
}

fn access(conn: &mut DbConn, caller: &Caller, row: &MeetingRow) -> Result<Access, ApiError> {
    let person = caller_person(conn, caller)?;
    let Some(who) = person.clone() else {
        return Ok(Access {
            person,
            seats: Vec::new(),
            invitation: None,
        });
    };
    let seats = match &row.body_id {
        Some(body) => seats_of(conn, &who, body.as_str(), today())?,
        None => Vec::new(),
    };
    let invitation = mi::table
        .filter(mi::meeting_id.eq(row.id.as_str()))
        .filter(mi::person_id.eq(&who))
        .select((mi::id, mi::response))
        .load::<(Id, Rsvp)>(conn)?
        .into_iter()
        .next();
    Ok(Access {
        person,
        seats,
        invitation,
    })
}

/// The row of a meeting the caller may see (404 otherwise), with their access.
pub fn visible(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<(MeetingRow, Access), ApiError> {
    let row = find_row(conn, id)?;
    let a = access(conn, caller, &row)?;
    policy::see_meeting(caller, row.kind, &a.seats, a.invitation.is_some())?;
    Ok((row, a))
}

/// The row of a meeting the caller may see and manage (404 / 403 otherwise).
fn managed(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(MeetingRow, Access), ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::manage_meeting(caller, row.kind, &a.seats)?;
    Ok((row, a))
}

fn invitee_counts(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, i64>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = mi::table
        .filter(mi::meeting_id.eq_any(ids))
        .group_by(mi::meeting_id)
        .select((mi::meeting_id, count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

fn one(conn: &mut DbConn, row: MeetingRow, mine: Option<Rsvp>) -> Result<Meeting, ApiError> {
    let n = invitee_counts(conn, &[row.id.as_str()])?
        .remove(row.id.as_str())
        .unwrap_or(0);
    Ok(row.into_meeting(n, mine))
}

/// A meeting the caller may see.
pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Meeting, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    one(conn, row, a.invitation.map(|(_, r)| r))
}

/// Invitees (people) who accepted another scheduled meeting, or an occurrence of a series,
/// overlapping `[starts, ends)`; `only` narrows it to one person.
fn conflicts(
    conn: &mut DbConn,
    meeting_id: &str,
    starts: NaiveDateTime,
    ends: NaiveDateTime,
    only: Option<&str>,
) -> Result<Vec<Conflict>, ApiError> {
    let people: Vec<String> = match only {
        Some(person) => vec![person.to_owned()],
        None => mi::table
            .filter(mi::meeting_id.eq(meeting_id))
            .filter(mi::person_id.is_not_null())
            .select(mi::person_id.assume_not_null())
            .load(conn)?,
    };
    Ok(series::busy(
        conn,
        &people,
        &[Rsvp::Accepted],
        starts,
        ends,
        Some(meeting_id),
    )?
    .into_iter()
    .map(|b| Conflict {
        person_id: b.person_id,
        name: b.name,
        meeting_id: b.meeting_id,
        title: b.title,
        starts_at: b.starts_at.and_utc(),
        ends_at: b.ends_at.and_utc(),
    })
    .collect())
}

/// The people with a seat in force today in a body, each once.
pub fn members_of(
    conn: &mut DbConn,
    body_id: &str,
    on: NaiveDate,
) -> Result<Vec<String>, ApiError> {
    let mut people: Vec<String> = bm::table
        .filter(bm::body_id.eq(body_id))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .order((bm::from_date.asc(), bm::id.asc()))
        .select(bm::person_id)
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    people.retain(|p| seen.insert(p.clone()));
    Ok(people)
}

/// Someone invited to a new meeting besides its body's members (a scheduling poll's participants).
#[derive(Debug, Clone)]
pub enum NewInvitee {
    Person(String),
    Guest { name: String, email: String },
}

/// Schedules a meeting: of a body (the secretariat or its chair, co-chair or secretary), or an
/// open event (the secretariat). Invites the body's members unless told not to, and reports the
/// invitees who already accepted another meeting at that time.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: Id,
    req: CreateMeeting,
) -> Result<Meeting, ApiError> {
    create_inviting(conn, caller, mailer, id, req, &[])
}

/// [`create`], inviting `others` too (each person once, however often named); every invitee gets
/// the invitation with its calendar entry.
pub fn create_inviting(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: Id,
    req: CreateMeeting,
    others: &[NewInvitee],
) -> Result<Meeting, ApiError> {
    let kind = req.kind.unwrap_or(MeetingKind::BodyMeeting);
    let seats = match (kind, &req.body_id) {
        (MeetingKind::BodyMeeting, None) => {
            return Err(ApiError::invalid(
                "body_id",
                "required",
                "a body's meeting needs its body_id",
            ));
        }
        (MeetingKind::OpenEvent, Some(_)) => {
            return Err(ApiError::invalid(
                "body_id",
                "not_allowed",
                "an open event belongs to no body",
            ));
        }
        (MeetingKind::BodyMeeting, Some(body)) => {
            let status: Option<BodyStatus> = b::table
                .filter(b::id.eq(body))
                .select(b::status)
                .load(conn)?
                .into_iter()
                .next();
            let Some(status) = status else {
                return Err(ApiError::invalid("body_id", "not_found", "no such body"));
            };
            let seats = match caller_person(conn, caller)? {
                Some(person) => seats_of(conn, &person, body.as_str(), today())?,
                None => Vec::new(),
            };
            policy::manage_meeting(caller, kind, &seats)?;
            if status != BodyStatus::Active {
                return Err(ApiError::invalid(
                    "body_id",
                    "dissolved",
                    "the body is dissolved: it holds no new meetings",
                ));
            }
            seats
        }
        (MeetingKind::OpenEvent, None) => Vec::new(),
    };
    policy::manage_meeting(caller, kind, &seats)?;
    let tz_name = req
        .time_zone
        .as_deref()
        .map(str::trim)
        .unwrap_or(DEFAULT_TIME_ZONE)
        .to_owned();
    let tz = zone(&tz_name, "time_zone")?;
    let starts = to_utc(req.start, tz, "start")?;
    let ends = to_utc(req.end, tz, "end")?;
    let title = req.title.trim().to_owned();
    let description = req.description.unwrap_or_default().trim().to_owned();
    let place = clean(req.place);
    let video_url = clean(req.video_url);
    validate(
        &title,
        &description,
        place.as_deref(),
        video_url.as_deref(),
        None,
        starts,
        ends,
    )?;
    check_capacity(kind, req.capacity)?;
    let rrule = match req.rrule.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(rule) => Some(series::check_first(rule, starts, tz)?),
    };
    let t = now();
    diesel::insert_into(m::table)
        .values((
            m::capacity.eq(req.capacity),
            m::id.eq(&id),
            m::kind.eq(kind),
            m::body_id.eq(&req.body_id),
            m::uid.eq(format!("{id}@connect")),
            m::sequence.eq(0),
            m::title.eq(&title),
            m::description.eq(&description),
            m::starts_at.eq(starts),
            m::ends_at.eq(ends),
            m::time_zone.eq(tz.name()),
            m::place.eq(&place),
            m::video_url.eq(&video_url),
            m::language.eq(req.language.unwrap_or(Language::Nb)),
            m::status.eq(MeetingStatus::Scheduled),
            m::created_by.eq(caller.author()),
            m::created_at.eq(t),
            m::updated_at.eq(t),
            m::version.eq(1),
            m::rrule.eq(&rrule),
        ))
        .execute(conn)?;
    let mut people: Vec<String> = match (&req.body_id, req.invite_members.unwrap_or(true)) {
        (Some(body), true) => members_of(conn, body.as_str(), today())?,
        _ => Vec::new(),
    };
    let mut guests: Vec<(&str, &str)> = Vec::new();
    for other in others {
        match other {
            NewInvitee::Person(person) if !people.contains(person) => people.push(person.clone()),
            NewInvitee::Person(_) => {}
            NewInvitee::Guest { name, email }
                if !guests.iter().any(|(_, e)| e.eq_ignore_ascii_case(email)) =>
            {
                guests.push((name, email));
            }
            NewInvitee::Guest { .. } => {}
        }
    }
    for (name, email) in guests {
        diesel::insert_into(mi::table)
            .values((
                mi::id.eq(Id::new()),
                mi::meeting_id.eq(&id),
                mi::guest_name.eq(Some(name)),
                mi::guest_email.eq(Some(email)),
                mi::response.eq(Rsvp::NeedsAction),
                mi::created_at.eq(t),
                mi::version.eq(1),
            ))
            .execute(conn)?;
    }
    for person in people {
        diesel::insert_into(mi::table)
            .values((
                mi::id.eq(Id::new()),
                mi::meeting_id.eq(&id),
                mi::person_id.eq(Some(person)),
                mi::response.eq(Rsvp::NeedsAction),
                mi::created_at.eq(t),
                mi::version.eq(1),
            ))
            .execute(conn)?;
    }
    let row = find_row(conn, &id)?;
    let mine = access(conn, caller, &row)?.invitation;
    let mut meeting = one(conn, row, None)?;
    audit::created(conn, &caller.actor(), "meeting", &id, &meeting)?;
    emit_scheduled(conn, &id, false)?;
    meeting.my_response = mine.map(|(_, r)| r);
    meeting.conflicts = Some(conflicts(conn, &id, starts, ends, None)?);
    super::mail::invite(conn, mailer, &id, None)?;
    Ok(meeting)
}

/// Changes a meeting (with `If-Match`); a change of time or place raises its `sequence`.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateMeeting,
) -> Result<Meeting, ApiError> {
    let (row, a) = managed(conn, caller, id)?;
    if_match.check(row.version)?;
    let mine = a.invitation.map(|(_, r)| r);
    if row.status == MeetingStatus::Cancelled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the meeting is cancelled; schedule a new one",
        ));
    }
    if row.rrule.is_some() && row.starts_at <= now() {
        // A series under way: its future occurrences change, its past ones stay.
        return series::split(conn, caller, mailer, row, patch);
    }
    let before = one(conn, row.clone(), mine)?;
    let mut next = row.clone();
    if let Some(v) = patch.time_zone {
        next.time_zone = zone(v.trim(), "time_zone")?.name().to_owned();
    }
    let tz = zone(&next.time_zone, "time_zone")?;
    if let Some(start) = patch.start {
        let duration = row.ends_at - row.starts_at;
        next.starts_at = to_utc(start, tz, "start")?;
        next.ends_at = next.starts_at + duration;
    }
    if let Some(end) = patch.end {
        next.ends_at = to_utc(end, tz, "end")?;
    }
    if let Some(v) = patch.title {
        next.title = v.trim().to_owned();
    }
    if let Some(v) = patch.description {
        next.description = v.trim().to_owned();
    }
    if let Some(v) = patch.place {
        next.place = clean(v);
    }
    if let Some(v) = patch.video_url {
        next.video_url = clean(v);
    }
    if let Some(v) = patch.language {
        next.language = v;
    }
    if let Some(v) = patch.recording_url {
        next.recording_url = clean(v);
    }
    if let Some(v) = patch.capacity {
        check_capacity(row.kind, v)?;
        if v.is_some_and(|c| c < row.registered_count) {
            return Err(ApiError::conflict_of(
                ProblemType::InvalidTransition,
                format!(
                    "{} registrations hold a place; cancel some before lowering the capacity",
                    row.registered_count
                ),
            ));
        }
        next.capacity = v;
    }
    if let Some(v) = patch.rrule {
        if row.rrule.is_none() {
            return Err(ApiError::invalid(
                "rrule",
                "not_a_series",
                "only a series' master has a rule; schedule a new series instead",
            ));
        }
        next.rrule = Some(v);
    }
    if let Some(rule) = &next.rrule {
        next.rrule = Some(series::check_first(rule, next.starts_at, tz)?);
    }
    match patch.status {
        None => {}
        Some(v) if v == row.status => {}
        Some(MeetingStatus::Cancelled) => {
            next.status = MeetingStatus::Cancelled;
            next.cancelled_at = Some(now());
        }
        Some(v) => next.status = v,
    }
    validate(
        &next.title,
        &next.description,
        next.place.as_deref(),
        next.video_url.as_deref(),
        next.recording_url.as_deref(),
        next.starts_at,
        next.ends_at,
    )?;
    let moved = next.starts_at != row.starts_at
        || next.rrule != row.rrule
        || next.status == MeetingStatus::Cancelled
        || next.ends_at != row.ends_at
        || next.place != row.place
        || next.video_url != row.video_url;
    if moved {
        next.sequence = row.sequence + 1;
    }
    let after = one(conn, next.clone(), mine)?;
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    won_race(
        diesel::update(
            m::table
                .filter(m::id.eq(id))
                .filter(m::version.eq(row.version)),
        )
        .set((
            m::title.eq(&next.title),
            m::description.eq(&next.description),
            m::starts_at.eq(next.starts_at),
            m::ends_at.eq(next.ends_at),
            m::time_zone.eq(&next.time_zone),
            m::place.eq(&next.place),
            m::video_url.eq(&next.video_url),
            m::language.eq(next.language),
            m::status.eq(next.status),
            m::cancelled_at.eq(next.cancelled_at),
            m::recording_url.eq(&next.recording_url),
            m::capacity.eq(next.capacity),
            m::sequence.eq(next.sequence),
            m::rrule.eq(&next.rrule),
            m::updated_at.eq(now()),
            m::version.eq(row.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::updated(conn, &caller.actor(), "meeting", id, changes)?;
    if next.status == MeetingStatus::Cancelled && row.status != MeetingStatus::Cancelled {
        emit_cancelled(conn, id, None)?;
    } else if moved && next.status == MeetingStatus::Scheduled {
        emit_scheduled(conn, id, true)?;
    }
    super::mail::after_update(conn, mailer, id, row.sequence, row.status)?;
    let row = find_row(conn, id)?;
    one(conn, row, mine)
}

/// What webhook subscribers are told of a meeting: where and when, and what it belongs to.
fn event_data(row: &MeetingRow) -> serde_json::Value {
    serde_json::json!({
        "meeting_id": row.id,
        "kind": row.kind,
        "body_id": row.body_id,
        "title": row.title,
        "starts_at": row.starts_at.and_utc(),
        "ends_at": row.ends_at.and_utc(),
        "time_zone": row.time_zone,
        "place": row.place,
        "video_url": row.video_url,
        "rrule": row.rrule,
        "series_id": row.series_id,
        "occurrence_of": row.occurrence_of.map(|t| t.and_utc()),
        "uid": row.uid,
        "sequence": row.sequence,
    })
}

/// Tells webhook subscribers of a meeting scheduled, or (`rescheduled`) moved in time or place.
pub(crate) fn emit_scheduled(
    conn: &mut DbConn,
    id: &str,
    rescheduled: bool,
) -> Result<(), ApiError> {
    webhooks::emit_with(conn, EventType::MeetingScheduled, |conn| {
        let mut data = event_data(&find_row(conn, id)?);
        data["rescheduled"] = rescheduled.into();
        Ok(data)
    })?;
    Ok(())
}

/// Tells webhook subscribers of a meeting cancelled, or of a series ended from `series_ended_from`
/// (its earlier occurrences stay).
pub(crate) fn emit_cancelled(
    conn: &mut DbConn,
    id: &str,
    series_ended_from: Option<NaiveDateTime>,
) -> Result<(), ApiError> {
    webhooks::emit_with(conn, EventType::MeetingCancelled, |conn| {
        let row = find_row(conn, id)?;
        let mut data = event_data(&row);
        data["cancel_reason"] = row.cancel_reason.into();
        data["series_ended_from"] = series_ended_from.map(|t| t.and_utc().to_rfc3339()).into();
        Ok(data)
    })?;
    Ok(())
}

/// Calls a meeting off: kept, with the reason; its `sequence` is raised so calendars replace it.
pub fn cancel(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    req: CancelMeeting,
) -> Result<Meeting, ApiError> {
    let (row, a) = managed(conn, caller, id)?;
    if row.rrule.is_some() && row.status == MeetingStatus::Scheduled && row.starts_at <= now() {
        // A series under way ends from now; its past occurrences stay.
        return series::end_series(conn, caller, mailer, row, req);
    }
    if row.status != MeetingStatus::Scheduled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!(
                "the meeting is {}; only a scheduled one is cancelled",
                row.status
            ),
        ));
    }
    let reason = clean(req.reason);
    let mut v = Validator::new();
    v.optional_text("reason", reason.as_deref(), 2000);
    v.finish()?;
    let t = now();
    won_race(
        diesel::update(
            m::table
                .filter(m::id.eq(id))
                .filter(m::version.eq(row.version)),
        )
        .set((
            m::status.eq(MeetingStatus::Cancelled),
            m::cancel_reason.eq(&reason),
            m::cancelled_at.eq(Some(t)),
            m::sequence.eq(row.sequence + 1),
            m::updated_at.eq(t),
            m::version.eq(row.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::record(
        conn,
        &caller.actor(),
        "meeting.cancelled",
        "meeting",
        id,
        serde_json::json!({"status": {"from": row.status, "to": MeetingStatus::Cancelled},
                           "cancel_reason": {"from": null, "to": reason}}),
    )?;
    emit_cancelled(conn, id, None)?;
    super::mail::cancelled(conn, mailer, id, None, reason.as_deref())?;
    let row = find_row(conn, id)?;
    one(conn, row, a.invitation.map(|(_, r)| r))
}

#[derive(Debug, Default, Clone)]
pub struct MeetingsFilter {
    pub body_id: Option<Id>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub status: Option<MeetingStatus>,
    pub kind: Option<MeetingKind>,
}

type MeetingCondition = Box<dyn BoxableExpression<m::table, MultiBackend, SqlType = Bool>>;

/// What the caller sees of the meetings table: the secretariat all; others those they are
/// invited to, those of the bodies they sit in today, and (members of the consortium) open
/// events.
fn seen_by(caller: &Caller, person: Option<&String>) -> Option<MeetingCondition> {
    let listed = policy::meetings_listed(caller);
    if listed == MeetingsListed::All {
        return None;
    }
    // Never true: the start of an OR of what the caller sees.
    let mut cond: MeetingCondition = Box::new(m::id.is_null());
    if listed == MeetingsListed::WithOpenEvents {
        cond = Box::new(cond.or(m::kind.eq(MeetingKind::OpenEvent)));
    }
    if let Some(person) = person {
        let on = today();
        cond = Box::new(
            cond.or(m::id.eq_any(
                mi::table
                    .filter(mi::person_id.eq(person.clone()))
                    .select(mi::meeting_id),
            ))
            .or(m::body_id.assume_not_null().eq_any(
                bm::table
                    .filter(bm::person_id.eq(person.clone()))
                    .filter(bm::from_date.le(on))
                    .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
                    .select(bm::body_id),
            )),
        );
    }
    Some(cond)
}

/// A page of the meetings the caller sees, by start: the secretariat all; others those they are
/// invited to, those of the bodies they sit in today, and (members of the consortium) open
/// events. `from`/`to` keep the meetings overlapping that range. With both, a series is listed
/// as its occurrences in the range (computed, or their override rows), each keyed by its start
/// and the master's id; without, as its master.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &MeetingsFilter,
    page: &PageRequest,
) -> Result<Page<Meeting>, ApiError> {
    let after = page.after_keyed::<NaiveDateTime>()?;
    let person = caller_person(conn, caller)?;
    let range = match (f.from, f.to) {
        (Some(from), Some(to)) => Some((from, to)),
        _ => None,
    };
    let mut q = m::table.select(MeetingRow::as_select()).into_boxed();
    if let Some(cond) = seen_by(caller, person.as_ref()) {
        q = q.filter(cond);
    }
    if let Some(v) = &f.body_id {
        q = q.filter(m::body_id.eq(v.clone()));
    }
    if let Some(v) = f.from {
        q = q.filter(m::ends_at.gt(v));
    }
    if let Some(v) = f.to {
        q = q.filter(m::starts_at.lt(v));
    }
    if let Some(v) = f.status {
        q = q.filter(m::status.eq(v));
    }
    if let Some(v) = f.kind {
        q = q.filter(m::kind.eq(v));
    }
    if range.is_some() {
        q = q.filter(m::rrule.is_null());
    }
    let q = seek_after!(q, after, m::starts_at, m::id);
    let mut rows: Vec<MeetingRow> = q
        .order((m::starts_at.asc(), m::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    if let Some((from, to)) = range {
        // The series that may have occurrences in the range, expanded.
        let mut q = m::table
            .select(MeetingRow::as_select())
            .filter(m::rrule.is_not_null())
            .filter(m::starts_at.lt(to))
            .into_boxed();
        if let Some(cond) = seen_by(caller, person.as_ref()) {
            q = q.filter(cond);
        }
        if let Some(v) = &f.body_id {
            q = q.filter(m::body_id.eq(v.clone()));
        }
        if let Some(v) = f.kind {
            q = q.filter(m::kind.eq(v));
        }
        let masters: Vec<MeetingRow> = q.order(m::id.asc()).load(conn)?;
        for master in masters {
            if f.status.is_some_and(|s| s != master.status) {
                // An occurrence has its master's status.
                continue;
            }
            let fetch = Some(page.fetch() as usize);
            rows.extend(series::expand(conn, &master, from, to, after, fetch)?);
        }
        rows.sort_by(|x, y| (x.starts_at, x.id.as_str()).cmp(&(y.starts_at, y.id.as_str())));
        rows.truncate(page.fetch() as usize);
    }
    page_of(conn, caller, page, rows)
}

/// The page of the rows fetched (at most one more than the page), with invitee counts and the
/// caller's answers.
pub(super) fn page_of(
    conn: &mut DbConn,
    caller: &Caller,
    page: &PageRequest,
    rows: Vec<MeetingRow>,
) -> Result<Page<Meeting>, ApiError> {
    let person = caller_person(conn, caller)?;
    let listed = page.page(
        rows,
        |r| {
            vec![
                r.starts_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
                r.id.to_string(),
            ]
        },
        |r| r,
    );
    let ids: Vec<&str> = listed.items.iter().map(|r| r.id.as_str()).collect();
    let counts = invitee_counts(conn, &ids)?;
    let mine: HashMap<String, Rsvp> = match &person {
        Some(person) if !ids.is_empty() => mi::table
            .filter(mi::person_id.eq(person))
            .filter(mi::meeting_id.eq_any(&ids))
            .select((mi::meeting_id, mi::response))
            .load::<(String, Rsvp)>(conn)?
            .into_iter()
            .collect(),
        _ => HashMap::new(),
    };
    let items = listed
        .items
        .into_iter()
        .map(|r| {
            let n = counts.get(r.id.as_str()).copied().unwrap_or(0);
            let my = mine.get(r.id.as_str()).copied();
            r.into_meeting(n, my)
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: listed.next_cursor,
    })
}

// ---- Invitees --------------------------------------------------------------------------------

/// An invitee as read, with the person's name and address.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = mi)]
pub struct InviteeRow {
    pub id: Id,
    pub meeting_id: Id,
    pub person_id: Option<Id>,
    #[diesel(select_expression = p::name.nullable())]
    pub person_name: Option<String>,
    #[diesel(select_expression = p::email.nullable())]
    pub person_email: Option<String>,
    pub guest_name: Option<String>,
    pub guest_email: Option<String>,
    pub response: Rsvp,
    pub responded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub version: i32,
    pub attendance: Option<Attendance>,
}

impl InviteeRow {
    /// The invitee as shown; a guest's address only to those who manage the meeting.
    pub fn into_invitee(self, show_guest_email: bool) -> Invitee {
        let guest = self.person_id.is_none();
        Invitee {
            id: self.id,
            meeting_id: self.meeting_id,
            person_id: self.person_id,
            name: self.person_name.or(self.guest_name).unwrap_or_default(),
            email: self.guest_email.filter(|_| show_guest_email),
            guest,
            response: self.response,
            responded_at: self.responded_at.map(|t| t.and_utc()),
            attendance: self.attendance,
            conflicts: None,
            created_at: self.created_at.and_utc(),
            version: self.version,
        }
    }

    /// The invitee's e-mail address (a person's or a guest's).
    pub fn address(&self) -> Option<&str> {
        self.person_email.as_deref().or(self.guest_email.as_deref())
    }
}

/// Every invitee of a meeting: people by name, then guests by name.
pub fn invitee_rows(conn: &mut DbConn, meeting_id: &str) -> Result<Vec<InviteeRow>, ApiError> {
    let mut rows: Vec<InviteeRow> = mi::table
        .left_join(p::table)
        .filter(mi::meeting_id.eq(meeting_id))
        .select(InviteeRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| {
        (
            a.person_id.is_none(),
            a.person_name.as_ref().or(a.guest_name.as_ref()),
            a.id.as_str(),
        )
            .cmp(&(
                b.person_id.is_none(),
                b.person_name.as_ref().or(b.guest_name.as_ref()),
                b.id.as_str(),
            ))
    });
    Ok(rows)
}

fn find_invitee(conn: &mut DbConn, meeting_id: &str, id: &str) -> Result<InviteeRow, ApiError> {
    mi::table
        .left_join(p::table)
        .filter(mi::id.eq(id))
        .filter(mi::meeting_id.eq(meeting_id))
        .select(InviteeRow::as_select())
        .load::<InviteeRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// A meeting's invitees, for whoever sees the meeting.
pub fn invitees(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Invitees, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    let show = policy::manages_meeting(caller, row.kind, &a.seats);
    Ok(Invitees {
        items: invitee_rows(conn, id)?
            .into_iter()
            .map(|r| r.into_invitee(show))
            .collect(),
    })
}

fn no_change_when_cancelled(row: &MeetingRow) -> Result<(), ApiError> {
    if row.status == MeetingStatus::Cancelled {
        Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the meeting is cancelled",
        ))
    } else {
        Ok(())
    }
}

fn invitee_written(result: QueryResult<usize>) -> Result<usize, ApiError> {
    use diesel::result::{DatabaseErrorKind, Error};
    result.map_err(|e| match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            ApiError::conflict("already invited to this meeting")
        }
        e => e.into(),
    })
}

/// Invites a person or a guest; the answer reports the person's accepted meetings at that time.
pub fn add_invitee(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    invitee_id: Id,
    req: AddInvitee,
) -> Result<Invitee, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    no_change_when_cancelled(&row)?;
    let t = now();
    let person = match (req.person_id, clean(req.name), clean(req.email)) {
        (Some(person_id), None, None) => {
            let person = match crate::people::repo::get_visible(conn, caller, &person_id) {
                Ok(person) => person,
                Err(ApiError::NotFound) => {
                    return Err(ApiError::invalid(
                        "person_id",
                        "not_found",
                        "no such person",
                    ));
                }
                Err(e) => return Err(e),
            };
            let taken: i64 = mi::table
                .filter(mi::meeting_id.eq(id))
                .filter(mi::person_id.eq(&person.id))
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(ApiError::conflict("the person is already invited"));
            }
            invitee_written(
                diesel::insert_into(mi::table)
                    .values((
                        mi::id.eq(&invitee_id),
                        mi::meeting_id.eq(id),
                        mi::person_id.eq(Some(&person.id)),
                        mi::response.eq(Rsvp::NeedsAction),
                        mi::created_at.eq(t),
                        mi::version.eq(1),
                    ))
                    .execute(conn),
            )?;
            Some(person.id.to_string())
        }
        (None, Some(name), Some(email)) => {
            let mut v = Validator::new();
            v.text("name", &name, 200);
            v.email("email", &email);
            v.finish()?;
            let email = normalise_email(&email);
            let taken: i64 = mi::table
                .filter(mi::meeting_id.eq(id))
                .filter(
                    crate::db::functions::lower(mi::guest_email.assume_not_null())
                        .eq(email.to_lowercase()),
                )
                .count()
                .get_result(conn)?;
            if taken > 0 {
                return Err(ApiError::conflict(
                    "a guest with this e-mail is already invited",
                ));
            }
            invitee_written(
                diesel::insert_into(mi::table)
                    .values((
                        mi::id.eq(&invitee_id),
                        mi::meeting_id.eq(id),
                        mi::guest_name.eq(Some(&name)),
                        mi::guest_email.eq(Some(&email)),
                        mi::response.eq(Rsvp::NeedsAction),
                        mi::created_at.eq(t),
                        mi::version.eq(1),
                    ))
                    .execute(conn),
            )?;
            None
        }
        _ => {
            return Err(ApiError::invalid(
                "person_id",
                "person_or_guest",
                "give a person_id, or a guest's name and email (not both)",
            ));
        }
    };
    let mut invitee = find_invitee(conn, id, &invitee_id)?.into_invitee(true);
    audit::created(
        conn,
        &caller.actor(),
        "meeting_invitee",
        &invitee_id,
        &invitee,
    )?;
    invitee.conflicts = Some(match &person {
        Some(person) => conflicts(conn, id, row.starts_at, row.ends_at, Some(person))?,
        None => Vec::new(),
    });
    super::mail::invite(conn, mailer, id, Some(&[invitee_id]))?;
    Ok(invitee)
}

/// One invitee of a meeting the caller sees.
pub fn invitee(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    invitee_id: &str,
) -> Result<Invitee, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    let show = policy::manages_meeting(caller, row.kind, &a.seats);
    Ok(find_invitee(conn, id, invitee_id)?.into_invitee(show))
}

/// Takes an invitee off a meeting (with `If-Match`: the invitee's version).
pub fn remove_invitee(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    invitee_id: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    managed(conn, caller, id)?;
    let before = find_invitee(conn, id, invitee_id)?.into_invitee(true);
    if_match.check(before.version)?;
    // The cancellation is written while the invitee is still there to be named.
    super::mail::cancelled(
        conn,
        mailer,
        id,
        Some(std::slice::from_ref(&before.id)),
        None,
    )?;
    won_race(
        diesel::delete(
            mi::table
                .filter(mi::id.eq(invitee_id))
                .filter(mi::meeting_id.eq(id))
                .filter(mi::version.eq(before.version)),
        )
        .execute(conn)?,
    )?;
    audit::deleted(
        conn,
        &caller.actor(),
        "meeting_invitee",
        invitee_id,
        &before,
    )?;
    Ok(())
}

/// The caller answers their own invitation.
pub fn answer(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: Answer,
) -> Result<Invitee, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::answer_invitation(a.invitation.is_some())?;
    let Some((invitee_id, before)) = a.invitation else {
        return Err(ApiError::NotFound);
    };
    no_change_when_cancelled(&row)?;
    let show = policy::manages_meeting(caller, row.kind, &a.seats);
    if before != req.response {
        diesel::update(mi::table.filter(mi::id.eq(&invitee_id)))
            .set((
                mi::response.eq(req.response),
                mi::responded_at.eq(Some(now())),
                mi::version.eq(mi::version + 1),
            ))
            .execute(conn)?;
        audit::updated(
            conn,
            &caller.actor(),
            "meeting_invitee",
            &invitee_id,
            serde_json::json!({"response": {"from": before, "to": req.response}}),
        )?;
    }
    Ok(find_invitee(conn, id, &invitee_id)?.into_invitee(show))
}

/// What the calendar file needs: the meeting, its invitees (guests only for those who manage it)
/// and the body's name.
pub fn calendar(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<(Meeting, Vec<InviteeRow>, Option<String>), ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    let show = policy::manages_meeting(caller, row.kind, &a.seats);
    let body_name = match &row.body_id {
        Some(body) => b::table
            .filter(b::id.eq(body.as_str()))
            .select(b::name)
            .load::<String>(conn)?
            .into_iter()
            .next(),
        None => None,
    };
    let mut invitees = invitee_rows(conn, id)?;
    if !show {
        invitees.retain(|i| i.person_id.is_some());
    }
    let meeting = one(conn, row, a.invitation.map(|(_, r)| r))?;
    let _ = a.person;
    Ok((meeting, invitees, body_name))
}

/// A series master's occurrences changed alone (moved or cancelled), each as a meeting with its
/// invitees, by original start: the download of a series carries them as RECURRENCE-ID events.
pub fn series_overrides(
    conn: &mut DbConn,
    caller: &Caller,
    master_id: &str,
) -> Result<Vec<(Meeting, Vec<InviteeRow>)>, ApiError> {
    let ids: Vec<Id> = m::table
        .filter(m::series_id.eq(master_id))
        .filter(m::occurrence_of.is_not_null())
        .order((m::occurrence_of.asc(), m::id.asc()))
        .select(m::id)
        .load(conn)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let (meeting, invitees, _) = calendar(conn, caller, &id)?;
        out.push((meeting, invitees));
    }
    Ok(out)
}
