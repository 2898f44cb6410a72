//! Database access for open events and their registrations. Places are held by
//! `meetings.registered_count`, moved only by conditional updates inside the request's
//! transaction (so two instances on one database never give out more places than the capacity),
//! and the waiting list moves up in the same transaction as the cancellation that frees a place.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    CANCEL_PURPOSE, MeetingStatus, PublicEvent, Register, Registrant, Registration,
    RegistrationByLink, RegistrationStatus,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{Actor, Id, MeetingKind, now};
use crate::db::{DbConn, seek_after};
use crate::error::{ApiError, ProblemType};
use crate::http::{Page, PageRequest, won_race};
use crate::meetings::model::{to_local, zone};
use crate::meetings::repo::{MeetingRow, visible};
use crate::notifications::{Kind, Language, Mailer, Recipient, enqueue};
use crate::schema::{event_registrations as er, meetings as m};

/// A registration as stored.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = er)]
pub struct RegistrationRow {
    pub id: Id,
    pub meeting_id: Id,
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    pub language: Language,
    pub status: RegistrationStatus,
    pub promoted_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl RegistrationRow {
    fn public(&self, position: Option<i64>) -> Registration {
        Registration {
            id: self.id.clone(),
            event_id: self.meeting_id.clone(),
            status: self.status,
            position,
            created_at: self.created_at.and_utc(),
        }
    }

    fn registrant(self, position: Option<i64>) -> Registrant {
        Registrant {
            id: self.id,
            event_id: self.meeting_id,
            name: self.name,
            email: self.email,
            organisation: self.organisation,
            language: self.language,
            status: self.status,
            position,
            promoted_at: self.promoted_at.map(|t| t.and_utc()),
            cancelled_at: self.cancelled_at.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

fn event_row(conn: &mut DbConn, id: &str) -> Result<MeetingRow, ApiError> {
    m::table
        .filter(m::id.eq(id))
        .filter(m::kind.eq(MeetingKind::OpenEvent))
        .select(MeetingRow::as_select())
        .load::<MeetingRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

fn registration_row(conn: &mut DbConn, id: &str) -> Result<RegistrationRow, ApiError> {
    er::table
        .filter(er::id.eq(id))
        .select(RegistrationRow::as_select())
        .load::<RegistrationRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

fn waiting_count(conn: &mut DbConn, event: &str) -> Result<i64, ApiError> {
    Ok(er::table
        .filter(er::meeting_id.eq(event))
        .filter(er::status.eq(RegistrationStatus::Waitlisted))
        .count()
        .get_result(conn)?)
}

/// A waitlisted registration's place in the queue (1 is next).
fn position(conn: &mut DbConn, r: &RegistrationRow) -> Result<Option<i64>, ApiError> {
    if r.status != RegistrationStatus::Waitlisted {
        return Ok(None);
    }
    let ahead: i64 = er::table
        .filter(er::meeting_id.eq(r.meeting_id.as_str()))
        .filter(er::status.eq(RegistrationStatus::Waitlisted))
        .filter(
            er::created_at.lt(r.created_at).or(er::created_at
                .eq(r.created_at)
                .and(er::id.lt(r.id.as_str()))),
        )
        .count()
        .get_result(conn)?;
    Ok(Some(ahead + 1))
}

fn public_event(conn: &mut DbConn, row: MeetingRow) -> Result<PublicEvent, ApiError> {
    let waiting_list = waiting_count(conn, &row.id)?;
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    Ok(PublicEvent {
        local_start: to_local(row.starts_at, tz),
        local_end: to_local(row.ends_at, tz),
        places_left: row.capacity.map(|c| (c - row.registered_count).max(0)),
        capacity: row.capacity,
        id: row.id,
        title: row.title,
        description: row.description,
        starts_at: row.starts_at.and_utc(),
        ends_at: row.ends_at.and_utc(),
        time_zone: row.time_zone,
        place: row.place,
        video_url: row.video_url,
        language: row.language,
        status: row.status,
        recording_url: row.recording_url,
        waiting_list,
    })
}

fn key(t: NaiveDateTime, id: &str) -> Vec<String> {
    vec![t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(), id.to_owned()]
}

/// The upcoming open events (scheduled, not yet ended), by start: public.
pub fn list_public(conn: &mut DbConn, page: &PageRequest) -> Result<Page<PublicEvent>, ApiError> {
    let after = page.after_keyed::<NaiveDateTime>()?;
    let q = m::table
        .filter(m::kind.eq(MeetingKind::OpenEvent))
        .filter(m::status.eq(MeetingStatus::Scheduled))
        .filter(m::ends_at.gt(now()))
        .select(MeetingRow::as_select())
        .into_boxed();
    let q = seek_after!(q, after, m::starts_at, m::id);
    let rows: Vec<MeetingRow> = q
        .order((m::starts_at.asc(), m::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let listed = page.page(rows, |r| key(r.starts_at, &r.id), |r| r);
    let mut items = Vec::with_capacity(listed.items.len());
    for row in listed.items {
        items.push(public_event(conn, row)?);
    }
    Ok(Page {
        items,
        next_cursor: listed.next_cursor,
    })
}

/// One open event (any status, so a link to a past or cancelled one still says what it was).
pub fn get_public(conn: &mut DbConn, id: &str) -> Result<PublicEvent, ApiError> {
    let row = event_row(conn, id)?;
    public_event(conn, row)
}

fn when(row: &MeetingRow) -> String {
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    let start = to_local(row.starts_at, tz);
    let end = to_local(row.ends_at, tz);
    if start.date() == end.date() {
        format!("{}–{}", start.format("%Y-%m-%d %H:%M"), end.format("%H:%M"))
    } else {
        format!(
            "{} – {}",
            start.format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M")
        )
    }
}

/// Queues the `event_registration` e-mail in `status` (confirmed, waitlisted, promoted,
/// cancelled); all but a cancellation carry a signed cancel link valid until a week after the
/// event.
fn mail(
    conn: &mut DbConn,
    mailer: &Mailer,
    event: &MeetingRow,
    r: &RegistrationRow,
    status: &str,
    position: Option<i64>,
) -> Result<(), ApiError> {
    let cancel_link = if status == "cancelled" {
        None
    } else {
        let until = (event.ends_at + TimeDelta::days(7)).and_utc();
        let token = mailer.sign_expiring(CANCEL_PURPOSE, &[r.id.as_str()], until);
        Some(mailer.link(&format!("/events/cancel?token={token}")))
    };
    let to = Recipient {
        email: r.email.clone(),
        name: Some(r.name.clone()),
        user_id: None,
        language: r.language,
    };
    enqueue(
        conn,
        mailer,
        Kind::EventRegistration,
        &to,
        json!({
            "title": event.title,
            "when": when(event),
            "time_zone": event.time_zone,
            "place": event.place,
            "status": status,
            "position": position,
            "cancel_link": cancel_link,
        }),
    )?;
    Ok(())
}

/// Takes one of the event's places if one is free (`false`: full).
fn take_place(conn: &mut DbConn, event: &str) -> Result<bool, ApiError> {
    let n = diesel::update(
        m::table.filter(m::id.eq(event)).filter(
            m::capacity
                .is_null()
                .or(m::registered_count.lt(m::capacity.assume_not_null())),
        ),
    )
    .set(m::registered_count.eq(m::registered_count + 1))
    .execute(conn)?;
    Ok(n == 1)
}

fn free_place(conn: &mut DbConn, event: &str) -> Result<(), ApiError> {
    won_race(
        diesel::update(
            m::table
                .filter(m::id.eq(event))
                .filter(m::registered_count.gt(0)),
        )
        .set(m::registered_count.eq(m::registered_count - 1))
        .execute(conn)?,
    )
}

/// Registers someone for an open event: confirmed while places last, else waitlisted. The same
/// address twice for one event, or an event that is past or cancelled, answers 409.
pub fn register(
    conn: &mut DbConn,
    mailer: &Mailer,
    event_id: &str,
    id: Id,
    req: Register,
) -> Result<Registration, ApiError> {
    let event = event_row(conn, event_id)?;
    let (name, email, organisation, language) = req.checked()?;
    if event.status != MeetingStatus::Scheduled || event.starts_at <= now() {
        return Err(ApiError::conflict_of(
            ProblemType::RegistrationClosed,
            format!(
                "the event is {}; it takes no registrations",
                match event.status {
                    MeetingStatus::Scheduled => "under way or over".to_owned(),
                    other => other.to_string(),
                }
            ),
        ));
    }
    let already: i64 = er::table
        .filter(er::meeting_id.eq(event_id))
        .filter(er::email.eq(&email))
        .filter(er::status.ne(RegistrationStatus::Cancelled))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Err(already_registered());
    }
    let status = if take_place(conn, event_id)? {
        RegistrationStatus::Confirmed
    } else {
        RegistrationStatus::Waitlisted
    };
    let t = now();
    diesel::insert_into(er::table)
        .values((
            er::id.eq(&id),
            er::meeting_id.eq(event_id),
            er::name.eq(&name),
            er::email.eq(&email),
            er::organisation.eq(&organisation),
            er::language.eq(language.unwrap_or(event.language)),
            er::status.eq(status),
            er::created_at.eq(t),
            er::updated_at.eq(t),
            er::version.eq(1),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => already_registered(),
            other => ApiError::from(other),
        })?;
    let row = registration_row(conn, &id)?;
    let position = position(conn, &row)?;
    audit::created(
        conn,
        &Actor::registrant(&id),
        "event_registration",
        &id,
        &row.clone().registrant(position),
    )?;
    mail(conn, mailer, &event, &row, status.as_str(), position)?;
    Ok(row.public(position))
}

fn already_registered() -> ApiError {
    ApiError::conflict_of(
        ProblemType::AlreadyRegistered,
        "this e-mail address is already registered for the event",
    )
}

/// Gives free places to the waiting list, oldest first, each with a `promoted` e-mail; stops
/// when the event is full or nobody waits. Each step is a conditional update, so two instances
/// promoting at once neither skip anyone nor overfill the event.
pub fn fill_places(
    conn: &mut DbConn,
    mailer: &Mailer,
    actor: &Actor,
    event_id: &str,
) -> Result<usize, ApiError> {
    let event = event_row(conn, event_id)?;
    if event.status != MeetingStatus::Scheduled {
        return Ok(0);
    }
    let mut promoted = 0;
    // Bounded: each turn promotes one or finds the queue changed under it.
    for _ in 0..10_000 {
        let next: Option<RegistrationRow> = er::table
            .filter(er::meeting_id.eq(event_id))
            .filter(er::status.eq(RegistrationStatus::Waitlisted))
            .order((er::created_at.asc(), er::id.asc()))
            .limit(1)
            .select(RegistrationRow::as_select())
            .load(conn)?
            .into_iter()
            .next();
        let Some(next) = next else { break };
        if !take_place(conn, event_id)? {
            break;
        }
        let t = now();
        let n = diesel::update(
            er::table
                .filter(er::id.eq(next.id.as_str()))
                .filter(er::status.eq(RegistrationStatus::Waitlisted)),
        )
        .set((
            er::status.eq(RegistrationStatus::Confirmed),
            er::promoted_at.eq(Some(t)),
            er::updated_at.eq(t),
            er::version.eq(next.version + 1),
        ))
        .execute(conn)?;
        if n == 0 {
            free_place(conn, event_id)?;
            continue;
        }
        audit::record(
            conn,
            actor,
            "event_registration.promoted",
            "event_registration",
            &next.id,
            json!({"status": {"from": "waitlisted", "to": "confirmed"}}),
        )?;
        let row = registration_row(conn, &next.id)?;
        mail(conn, mailer, &event, &row, "promoted", None)?;
        promoted += 1;
    }
    Ok(promoted)
}

/// Cancels a registration: a confirmed one frees its place, which the oldest waitlisted one
/// takes in the same transaction. A cancelled one answers 409.
fn cancel(
    conn: &mut DbConn,
    mailer: &Mailer,
    actor: &Actor,
    row: RegistrationRow,
) -> Result<Registrant, ApiError> {
    if row.status == RegistrationStatus::Cancelled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the registration is already cancelled",
        ));
    }
    let t = now();
    won_race(
        diesel::update(
            er::table
                .filter(er::id.eq(row.id.as_str()))
                .filter(er::status.eq(row.status)),
        )
        .set((
            er::status.eq(RegistrationStatus::Cancelled),
            er::cancelled_at.eq(Some(t)),
            er::updated_at.eq(t),
            er::version.eq(row.version + 1),
        ))
        .execute(conn)?,
    )?;
    if row.status == RegistrationStatus::Confirmed {
        free_place(conn, &row.meeting_id)?;
    }
    audit::record(
        conn,
        actor,
        "event_registration.cancelled",
        "event_registration",
        &row.id,
        json!({"status": {"from": row.status.as_str(), "to": "cancelled"}}),
    )?;
    let event = event_row(conn, &row.meeting_id)?;
    let cancelled = registration_row(conn, &row.id)?;
    mail(conn, mailer, &event, &cancelled, "cancelled", None)?;
    if row.status == RegistrationStatus::Confirmed {
        fill_places(conn, mailer, actor, &row.meeting_id)?;
    }
    Ok(cancelled.registrant(None))
}

/// The registration a cancel link names (404 for a forged, expired or unknown link).
fn by_token(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Result<RegistrationRow, ApiError> {
    let fields = mailer
        .open_expiring(CANCEL_PURPOSE, token)
        .ok_or(ApiError::NotFound)?;
    match fields.as_slice() {
        [id] => registration_row(conn, id),
        _ => Err(ApiError::NotFound),
    }
}

/// Cancelling through the e-mailed link: the registrant is the actor.
pub fn cancel_by_token(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
) -> Result<Registration, ApiError> {
    let row = by_token(conn, mailer, token)?;
    let actor = Actor::registrant(&row.id);
    let done = cancel(conn, mailer, &actor, row)?;
    Ok(Registration {
        id: done.id,
        event_id: done.event_id,
        status: done.status,
        position: None,
        created_at: done.created_at,
    })
}

/// What a cancel link is for: the registration (with its place on the waiting list) and the event.
pub fn get_by_token(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
) -> Result<RegistrationByLink, ApiError> {
    let row = by_token(conn, mailer, token)?;
    let position = position(conn, &row)?;
    let event = event_row(conn, &row.meeting_id)?;
    Ok(RegistrationByLink {
        registration: row.public(position),
        name: row.name.clone(),
        event: public_event(conn, event)?,
    })
}

/// The language a cancel link's page is shown in: its registration's.
pub fn language_of_token(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Option<Language> {
    by_token(conn, mailer, token).ok().map(|r| r.language)
}

/// The open event the caller manages, for the secretariat's views of its registrants.
fn managed_event(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<MeetingRow, ApiError> {
    let (row, _) = visible(conn, caller, id)?;
    if row.kind != MeetingKind::OpenEvent {
        return Err(ApiError::NotFound);
    }
    policy::manage_event_registrations(caller)?;
    Ok(row)
}

/// Cancelling a registration for its registrant (the secretariat).
pub fn cancel_by_admin(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    event_id: &str,
    registration_id: &str,
) -> Result<Registrant, ApiError> {
    managed_event(conn, caller, event_id)?;
    let row = registration_row(conn, registration_id)?;
    if row.meeting_id.as_str() != event_id {
        return Err(ApiError::NotFound);
    }
    cancel(conn, mailer, &caller.actor(), row)
}

/// An event's registrations, oldest first, with the registrants' particulars (the secretariat).
/// `page: None` lists them all (for the CSV export).
pub fn list_registrations(
    conn: &mut DbConn,
    caller: &Caller,
    event_id: &str,
    status: Option<RegistrationStatus>,
    page: Option<&PageRequest>,
) -> Result<Page<Registrant>, ApiError> {
    managed_event(conn, caller, event_id)?;
    let mut q = er::table
        .filter(er::meeting_id.eq(event_id))
        .select(RegistrationRow::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(er::status.eq(s));
    }
    let rows: Vec<RegistrationRow> = match page {
        Some(page) => {
            let after = page.after_keyed::<NaiveDateTime>()?;
            let q = seek_after!(q, after, er::created_at, er::id);
            q.order((er::created_at.asc(), er::id.asc()))
                .limit(page.fetch())
                .load(conn)?
        }
        None => q.order((er::created_at.asc(), er::id.asc())).load(conn)?,
    };
    let listed = match page {
        Some(page) => page.page(rows, |r| key(r.created_at, &r.id), |r| r),
        None => Page {
            items: rows,
            next_cursor: None,
        },
    };
    // Positions: the waitlisted ones in queue order.
    let waiting: Vec<Id> = er::table
        .filter(er::meeting_id.eq(event_id))
        .filter(er::status.eq(RegistrationStatus::Waitlisted))
        .order((er::created_at.asc(), er::id.asc()))
        .select(er::id)
        .load(conn)?;
    let items = listed
        .items
        .into_iter()
        .map(|r| {
            let pos = waiting
                .iter()
                .position(|w| w == &r.id)
                .map(|i| i as i64 + 1);
            r.registrant(pos)
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: listed.next_cursor,
    })
}
