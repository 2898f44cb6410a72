//! Database access for a meeting's proceedings. Every write runs in the caller's transaction,
//! writes its audit event there, and keeps its invariant with a conditional update: agenda
//! positions 1..n (the meeting's row locked first), minutes changed only while `draft`, an
//! action item's reminder claimed once.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    ActionItem, ActionItemStatus, ActionItems, Agenda, AgendaItem, ApproveMinutes, Attendance,
    AttendanceCounts, AttendanceEntry, AttendanceReport, CreateActionItem, CreateAgendaItem,
    Document, Minutes, MinutesStatus, PutMinutes, Quorum, SetAttendance, UpdateActionItem,
    UpdateAgendaItem, check_agenda_item, check_description, check_minutes, clean_documents,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::bodies::repo::{caller_person, seats_of, voters};
use crate::core::{DecisionStatus, Id, MeetingKind, MeetingStatus, now, today};
use crate::db::{DbConn, seek_after};
use crate::decisions::model::{Decision, quorum_of};
use crate::decisions::repo::{DecisionsFilter, recipients_for};
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::meetings::model::{to_local, zone};
use crate::meetings::repo::{Access, MeetingRow, invitee_rows, visible};
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{
    action_items as act, agenda_items as ai, bodies as b, decisions as d, meeting_invitees as mi,
    meeting_minutes as mm, meetings as m, people as p,
};
use crate::validation::Validator;

// ---- The meeting -----------------------------------------------------------------------------

/// The meeting, seen and managed by the caller (404 / 403 otherwise).
fn managed(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(MeetingRow, Access), ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::manage_proceedings(caller, row.kind, &a.seats)?;
    Ok((row, a))
}

fn invalid_transition(detail: impl Into<String>) -> ApiError {
    ApiError::conflict_of(ProblemType::InvalidTransition, detail)
}

fn not_cancelled(row: &MeetingRow) -> Result<(), ApiError> {
    if row.status == MeetingStatus::Cancelled {
        Err(invalid_transition("the meeting is cancelled"))
    } else {
        Ok(())
    }
}

/// Minutes and attendance are for a meeting that was held or has started (409 before).
fn started(row: &MeetingRow) -> Result<(), ApiError> {
    if row.status == MeetingStatus::Held || row.starts_at <= now() {
        Ok(())
    } else {
        Err(invalid_transition(
            "the meeting has not started yet: its minutes and attendance come once it is held",
        ))
    }
}

// A shifted item's version is raised too: its position is part of what its ETag stands for.

/// Locks the meeting's row for the transaction (PostgreSQL: a row lock; SQLite writes are
/// serial anyway), so two changes of its agenda never interleave their renumbering.
fn lock_meeting(conn: &mut DbConn, id: &str) -> Result<(), ApiError> {
    diesel::update(m::table.filter(m::id.eq(id)))
        .set(m::version.eq(m::version))
        .execute(conn)?;
    Ok(())
}

/// A decision cited from a meeting: one of the meeting's body (422 on `field` otherwise).
fn decision_of_body(
    conn: &mut DbConn,
    row: &MeetingRow,
    decision_id: &str,
    field: &str,
) -> Result<DecisionStatus, ApiError> {
    let found: Option<(String, DecisionStatus)> = d::table
        .filter(d::id.eq(decision_id))
        .select((d::body_id, d::status))
        .first(conn)
        .optional()?;
    match found {
        None => Err(ApiError::invalid(field, "not_found", "no such decision")),
        Some((body, status)) if row.body_id.as_deref() == Some(body.as_str()) => Ok(status),
        Some(_) => Err(ApiError::invalid(
            field,
            "other_body",
            "the decision is not one of the meeting's body",
        )),
    }
}

// ---- Agenda ----------------------------------------------------------------------------------

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = ai)]
struct AgendaRow {
    id: Id,
    meeting_id: Id,
    position: i32,
    title: String,
    description: String,
    presenter_person_id: Option<Id>,
    presenter_name: Option<String>,
    #[diesel(select_expression = p::name.nullable())]
    presenter_person_name: Option<String>,
    duration_minutes: Option<i32>,
    documents: String,
    decision_id: Option<Id>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl AgendaRow {
    fn into_item(self) -> AgendaItem {
        AgendaItem {
            id: self.id,
            meeting_id: self.meeting_id,
            position: self.position,
            title: self.title,
            description: self.description,
            presenter_person_id: self.presenter_person_id,
            presenter_name: self.presenter_person_name.or(self.presenter_name),
            duration_minutes: self.duration_minutes,
            documents: serde_json::from_str(&self.documents).unwrap_or_default(),
            decision_id: self.decision_id,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

fn agenda_rows(conn: &mut DbConn, meeting_id: &str) -> Result<Vec<AgendaRow>, ApiError> {
    Ok(ai::table
        .left_join(p::table)
        .filter(ai::meeting_id.eq(meeting_id))
        .order((ai::position.asc(), ai::id.asc()))
        .select(AgendaRow::as_select())
        .load(conn)?)
}

fn find_agenda_row(
    conn: &mut DbConn,
    meeting_id: &str,
    item_id: &str,
) -> Result<AgendaRow, ApiError> {
    ai::table
        .left_join(p::table)
        .filter(ai::id.eq(item_id))
        .filter(ai::meeting_id.eq(meeting_id))
        .select(AgendaRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

fn agenda_len(conn: &mut DbConn, meeting_id: &str) -> Result<i32, ApiError> {
    let n: i64 = ai::table
        .filter(ai::meeting_id.eq(meeting_id))
        .count()
        .get_result(conn)?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// The presenter: a person of the register or a name, not both (422).
fn check_presenter(
    conn: &mut DbConn,
    person: Option<&Id>,
    name: Option<&str>,
) -> Result<(), ApiError> {
    if person.is_some() && name.is_some() {
        return Err(ApiError::invalid(
            "presenter_name",
            "person_or_name",
            "give presenter_person_id or presenter_name, not both",
        ));
    }
    if let Some(person) = person {
        let n: i64 = p::table.filter(p::id.eq(person)).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::invalid(
                "presenter_person_id",
                "not_found",
                "no such person",
            ));
        }
    }
    Ok(())
}

fn position_out_of_range(max: i32) -> ApiError {
    ApiError::invalid("position", "out_of_range", format!("must be 1 to {max}"))
}

/// A meeting's agenda, for whoever sees the meeting.
pub fn agenda(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Agenda, ApiError> {
    let (row, _) = visible(conn, caller, id)?;
    let items: Vec<AgendaItem> = agenda_rows(conn, id)?
        .into_iter()
        .map(AgendaRow::into_item)
        .collect();
    let total_minutes: i64 = items
        .iter()
        .filter_map(|i| i.duration_minutes)
        .map(i64::from)
        .sum();
    let meeting_minutes = (row.ends_at - row.starts_at).num_minutes();
    Ok(Agenda {
        items,
        total_minutes,
        meeting_minutes,
        overruns: total_minutes > meeting_minutes,
    })
}

/// One agenda item of a meeting the caller sees.
pub fn agenda_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: &str,
) -> Result<AgendaItem, ApiError> {
    visible(conn, caller, id)?;
    Ok(find_agenda_row(conn, id, item_id)?.into_item())
}

/// Adds an item at `position` (the end when absent); the items from there on move down one.
pub fn add_agenda_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: Id,
    req: CreateAgendaItem,
) -> Result<AgendaItem, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    let title = req.title.trim().to_owned();
    let description = req.description.unwrap_or_default().trim().to_owned();
    let presenter_name = crate::meetings::model::clean(req.presenter_name);
    let documents = clean_documents(req.documents.unwrap_or_default());
    check_agenda_item(
        &title,
        &description,
        presenter_name.as_deref(),
        req.duration_minutes,
        &documents,
    )?;
    check_presenter(
        conn,
        req.presenter_person_id.as_ref(),
        presenter_name.as_deref(),
    )?;
    if let Some(decision) = &req.decision_id {
        decision_of_body(conn, &row, decision, "decision_id")?;
    }
    lock_meeting(conn, id)?;
    let n = agenda_len(conn, id)?;
    let position = req.position.unwrap_or(n + 1);
    if !(1..=n + 1).contains(&position) {
        return Err(position_out_of_range(n + 1));
    }
    diesel::update(
        ai::table
            .filter(ai::meeting_id.eq(id))
            .filter(ai::position.ge(position)),
    )
    .set((
        ai::position.eq(ai::position + 1),
        ai::version.eq(ai::version + 1),
    ))
    .execute(conn)?;
    let t = now();
    diesel::insert_into(ai::table)
        .values((
            ai::id.eq(&item_id),
            ai::meeting_id.eq(id),
            ai::position.eq(position),
            ai::title.eq(&title),
            ai::description.eq(&description),
            ai::presenter_person_id.eq(&req.presenter_person_id),
            ai::presenter_name.eq(&presenter_name),
            ai::duration_minutes.eq(req.duration_minutes),
            ai::documents.eq(serde_json::to_string(&documents)?),
            ai::decision_id.eq(&req.decision_id),
            ai::created_at.eq(t),
            ai::updated_at.eq(t),
            ai::version.eq(1),
        ))
        .execute(conn)?;
    let item = find_agenda_row(conn, id, &item_id)?.into_item();
    audit::created(conn, &caller.actor(), "agenda_item", &item_id, &item)?;
    Ok(item)
}

/// Changes an agenda item (If-Match); a new position moves it and closes up the others.
pub fn update_agenda_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: &str,
    if_match: &IfMatch,
    patch: UpdateAgendaItem,
) -> Result<AgendaItem, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    lock_meeting(conn, id)?;
    let before_row = find_agenda_row(conn, id, item_id)?;
    if_match.check(before_row.version)?;
    let before = before_row.clone().into_item();
    let title = patch
        .title
        .map(|v| v.trim().to_owned())
        .unwrap_or(before_row.title.clone());
    let description = patch
        .description
        .map(|v| v.trim().to_owned())
        .unwrap_or(before_row.description.clone());
    // Naming a presenter of one kind replaces one of the other.
    let new_person = matches!(&patch.presenter_person_id, Some(Some(_)));
    let new_name = matches!(&patch.presenter_name, Some(Some(_)));
    let presenter_person_id = match patch.presenter_person_id {
        Some(v) => v,
        None if new_name => None,
        None => before_row.presenter_person_id.clone(),
    };
    let presenter_name = match patch.presenter_name {
        Some(v) => crate::meetings::model::clean(v),
        None if new_person => None,
        None => before_row.presenter_name.clone(),
    };
    let duration_minutes = patch
        .duration_minutes
        .unwrap_or(before_row.duration_minutes);
    let documents: Vec<Document> = match patch.documents {
        Some(v) => clean_documents(v),
        None => before.documents.clone(),
    };
    let decision_id = patch.decision_id.unwrap_or(before_row.decision_id.clone());
    check_agenda_item(
        &title,
        &description,
        presenter_name.as_deref(),
        duration_minutes,
        &documents,
    )?;
    check_presenter(
        conn,
        presenter_person_id.as_ref(),
        presenter_name.as_deref(),
    )?;
    if let Some(decision) = &decision_id
        && before_row.decision_id.as_ref() != Some(decision)
    {
        decision_of_body(conn, &row, decision, "decision_id")?;
    }
    let old = before_row.position;
    let position = patch.position.unwrap_or(old);
    let n = agenda_len(conn, id)?;
    if !(1..=n).contains(&position) {
        return Err(position_out_of_range(n));
    }
    if position < old {
        diesel::update(
            ai::table
                .filter(ai::meeting_id.eq(id))
                .filter(ai::position.ge(position))
                .filter(ai::position.lt(old)),
        )
        .set((
            ai::position.eq(ai::position + 1),
            ai::version.eq(ai::version + 1),
        ))
        .execute(conn)?;
    } else if position > old {
        diesel::update(
            ai::table
                .filter(ai::meeting_id.eq(id))
                .filter(ai::position.gt(old))
                .filter(ai::position.le(position)),
        )
        .set((
            ai::position.eq(ai::position - 1),
            ai::version.eq(ai::version + 1),
        ))
        .execute(conn)?;
    }
    won_race(
        diesel::update(
            ai::table
                .filter(ai::id.eq(item_id))
                .filter(ai::version.eq(before_row.version)),
        )
        .set((
            ai::position.eq(position),
            ai::title.eq(&title),
            ai::description.eq(&description),
            ai::presenter_person_id.eq(&presenter_person_id),
            ai::presenter_name.eq(&presenter_name),
            ai::duration_minutes.eq(duration_minutes),
            ai::documents.eq(serde_json::to_string(&documents)?),
            ai::decision_id.eq(&decision_id),
            ai::updated_at.eq(now()),
            ai::version.eq(ai::version + 1),
        ))
        .execute(conn)?,
    )?;
    let after = find_agenda_row(conn, id, item_id)?.into_item();
    if let Some(changes) = audit::changes(&before, &after) {
        audit::updated(conn, &caller.actor(), "agenda_item", item_id, changes)?;
    }
    Ok(after)
}

/// Removes an agenda item (If-Match); the items after it move up one. Action items under it
/// stay, no longer under an item.
pub fn remove_agenda_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    lock_meeting(conn, id)?;
    let before = find_agenda_row(conn, id, item_id)?;
    if_match.check(before.version)?;
    diesel::update(act::table.filter(act::agenda_item_id.eq(item_id)))
        .set(act::agenda_item_id.eq(None::<String>))
        .execute(conn)?;
    won_race(
        diesel::delete(
            ai::table
                .filter(ai::id.eq(item_id))
                .filter(ai::version.eq(before.version)),
        )
        .execute(conn)?,
    )?;
    diesel::update(
        ai::table
            .filter(ai::meeting_id.eq(id))
            .filter(ai::position.gt(before.position)),
    )
    .set((
        ai::position.eq(ai::position - 1),
        ai::version.eq(ai::version + 1),
    ))
    .execute(conn)?;
    let before = before.into_item();
    audit::deleted(conn, &caller.actor(), "agenda_item", item_id, &before)?;
    Ok(())
}

// ---- Minutes ---------------------------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = mm)]
struct MinutesRow {
    meeting_id: Id,
    body: String,
    status: MinutesStatus,
    drafted_by: Option<Id>,
    approved_by: Option<Id>,
    approved_at: Option<NaiveDateTime>,
    approval_decision_id: Option<Id>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl MinutesRow {
    fn into_minutes(self) -> Minutes {
        Minutes {
            meeting_id: self.meeting_id,
            body: self.body,
            status: self.status,
            drafted_by: self.drafted_by,
            approved_by: self.approved_by,
            approved_at: self.approved_at.map(|t| t.and_utc()),
            approval_decision_id: self.approval_decision_id,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

fn find_minutes(conn: &mut DbConn, id: &str) -> Result<Option<MinutesRow>, ApiError> {
    Ok(mm::table
        .filter(mm::meeting_id.eq(id))
        .select(MinutesRow::as_select())
        .first(conn)
        .optional()?)
}

fn approved_already() -> ApiError {
    invalid_transition("the minutes are approved: they are read-only")
}

/// A meeting's minutes (404 when none are written yet).
pub fn minutes(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Minutes, ApiError> {
    visible(conn, caller, id)?;
    Ok(find_minutes(conn, id)?
        .ok_or(ApiError::NotFound)?
        .into_minutes())
}

/// Drafts or replaces the minutes (those who manage the meeting; `If-Match` once they exist).
/// Approved minutes are never changed: the update is conditional on `status = 'draft'`.
pub fn put_minutes(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: Option<&IfMatch>,
    req: PutMinutes,
) -> Result<(Minutes, bool), ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    started(&row)?;
    check_minutes(&req.body)?;
    let t = now();
    match find_minutes(conn, id)? {
        None => {
            let inserted = diesel::insert_into(mm::table)
                .values((
                    mm::meeting_id.eq(id),
                    mm::body.eq(&req.body),
                    mm::status.eq(MinutesStatus::Draft),
                    mm::drafted_by.eq(caller.author()),
                    mm::created_at.eq(t),
                    mm::updated_at.eq(t),
                    mm::version.eq(1),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => {}
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {
                    return Err(ApiError::conflict(
                        "the minutes were drafted meanwhile: read them and send If-Match",
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            let minutes = find_minutes(conn, id)?
                .ok_or(ApiError::NotFound)?
                .into_minutes();
            audit::created(conn, &caller.actor(), "meeting_minutes", id, &minutes)?;
            Ok((minutes, true))
        }
        Some(before) => {
            if before.status == MinutesStatus::Approved {
                return Err(approved_already());
            }
            let Some(if_match) = if_match else {
                return Err(ApiError::PreconditionRequired(
                    "the minutes exist: send If-Match with the ETag you last read".into(),
                ));
            };
            if_match.check(before.version)?;
            let n = diesel::update(
                mm::table
                    .filter(mm::meeting_id.eq(id))
                    .filter(mm::status.eq(MinutesStatus::Draft))
                    .filter(mm::version.eq(before.version)),
            )
            .set((
                mm::body.eq(&req.body),
                mm::drafted_by.eq(caller.author()),
                mm::updated_at.eq(t),
                mm::version.eq(mm::version + 1),
            ))
            .execute(conn)?;
            if n == 0 {
                return match find_minutes(conn, id)? {
                    Some(now) if now.status == MinutesStatus::Approved => Err(approved_already()),
                    _ => Err(ApiError::PreconditionFailed),
                };
            }
            let before = before.into_minutes();
            let after = find_minutes(conn, id)?
                .ok_or(ApiError::NotFound)?
                .into_minutes();
            if let Some(changes) = audit::changes(&before, &after) {
                audit::updated(conn, &caller.actor(), "meeting_minutes", id, changes)?;
            }
            Ok((after, false))
        }
    }
}

/// Approves the minutes for the body (its chair or co-chair, or the secretariat), optionally
/// citing the body's adopted decision to approve them. From then on they are read-only.
pub fn approve_minutes(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: ApproveMinutes,
) -> Result<Minutes, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::approve_minutes(caller, row.kind, &a.seats)?;
    let before = find_minutes(conn, id)?.ok_or(ApiError::NotFound)?;
    if before.status == MinutesStatus::Approved {
        return Err(approved_already());
    }
    if let Some(decision) = &req.decision_id {
        let status = decision_of_body(conn, &row, decision, "decision_id")?;
        if status != DecisionStatus::Adopted {
            return Err(ApiError::invalid(
                "decision_id",
                "not_adopted",
                "the decision approving the minutes must be adopted",
            ));
        }
    }
    let t = now();
    let n = diesel::update(
        mm::table
            .filter(mm::meeting_id.eq(id))
            .filter(mm::status.eq(MinutesStatus::Draft)),
    )
    .set((
        mm::status.eq(MinutesStatus::Approved),
        mm::approved_by.eq(caller.author()),
        mm::approved_at.eq(Some(t)),
        mm::approval_decision_id.eq(&req.decision_id),
        mm::updated_at.eq(t),
        mm::version.eq(mm::version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(approved_already());
    }
    let after = find_minutes(conn, id)?
        .ok_or(ApiError::NotFound)?
        .into_minutes();
    audit::updated(
        conn,
        &caller.actor(),
        "meeting_minutes",
        id,
        json!({"status": {"from": MinutesStatus::Draft, "to": MinutesStatus::Approved},
               "approval_decision_id": {"from": null, "to": req.decision_id}}),
    )?;
    Ok(after)
}

// ---- Attendance ------------------------------------------------------------------------------

/// The meeting's day in its own zone (the day the body's seats are judged on).
fn meeting_day(row: &MeetingRow) -> NaiveDate {
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    to_local(row.starts_at, tz).date()
}

fn report(conn: &mut DbConn, row: &MeetingRow) -> Result<AttendanceReport, ApiError> {
    let invitees = invitee_rows(conn, row.id.as_str())?;
    let body = match (row.kind, &row.body_id) {
        (MeetingKind::BodyMeeting, Some(body)) => Some(body.clone()),
        _ => None,
    };
    let (voting, quorum_percent): (Option<HashSet<String>>, i32) = match &body {
        Some(body) => {
            let set = voters(conn, body.as_str(), meeting_day(row))?
                .into_iter()
                .map(|v| v.person_id.to_string())
                .collect();
            let pct: i32 = b::table
                .filter(b::id.eq(body.as_str()))
                .select(b::quorum_percent)
                .first(conn)?;
            (Some(set), pct)
        }
        None => (None, 0),
    };
    let mut counts = AttendanceCounts::default();
    let mut present_voting = 0i64;
    let mut items = Vec::with_capacity(invitees.len());
    for r in invitees {
        let is_voter = voting.as_ref().map(|set| {
            r.person_id
                .as_ref()
                .is_some_and(|person| set.contains(person.as_str()))
        });
        match r.attendance {
            Some(Attendance::Present) => {
                counts.present += 1;
                if is_voter == Some(true) {
                    present_voting += 1;
                }
            }
            Some(Attendance::Absent) => counts.absent += 1,
            Some(Attendance::Excused) => counts.excused += 1,
            None => counts.unrecorded += 1,
        }
        let invitee = r.into_invitee(false);
        items.push(AttendanceEntry {
            invitee_id: invitee.id,
            person_id: invitee.person_id,
            name: invitee.name,
            guest: invitee.guest,
            attendance: invitee.attendance,
            voting: is_voter,
        });
    }
    let quorum = voting.map(|set| {
        let members = i64::try_from(set.len()).unwrap_or(i64::MAX);
        let needed = i64::from(quorum_of(
            i32::try_from(members).unwrap_or(i32::MAX),
            quorum_percent,
        ));
        Quorum {
            quorum_percent,
            voting_members: members,
            quorum_needed: needed,
            present_voting_members: present_voting,
            quorum_reached: members > 0 && present_voting >= needed,
        }
    });
    Ok(AttendanceReport {
        items,
        counts,
        quorum,
    })
}

/// A meeting's attendance and quorum, for whoever sees the meeting.
pub fn attendance(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<AttendanceReport, ApiError> {
    let (row, _) = visible(conn, caller, id)?;
    report(conn, &row)
}

/// Records invitees' attendance (those who manage the meeting, once it has started).
pub fn set_attendance(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: SetAttendance,
) -> Result<AttendanceReport, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    if row.starts_at > now() {
        return Err(invalid_transition(
            "the meeting has not started yet: attendance is recorded once it has",
        ));
    }
    let mut v = Validator::new();
    v.check(
        !req.items.is_empty() && req.items.len() <= 1000,
        "items",
        "count",
        "1 to 1000 invitees",
    );
    v.finish()?;
    let mut recorded = Vec::with_capacity(req.items.len());
    for (i, mark) in req.items.iter().enumerate() {
        let n = diesel::update(
            mi::table
                .filter(mi::id.eq(&mark.invitee_id))
                .filter(mi::meeting_id.eq(id)),
        )
        .set((
            mi::attendance.eq(Some(mark.attendance)),
            mi::version.eq(mi::version + 1),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(ApiError::invalid(
                &format!("items[{i}].invitee_id"),
                "not_found",
                "no such invitee of this meeting",
            ));
        }
        recorded.push(json!({"invitee_id": mark.invitee_id, "attendance": mark.attendance}));
    }
    audit::record(
        conn,
        &caller.actor(),
        "meeting.attendance_recorded",
        "meeting",
        id,
        json!({"attendance": recorded}),
    )?;
    report(conn, &row)
}

// ---- Decisions at the meeting ----------------------------------------------------------------

/// The decisions proposed at a meeting, as the caller sees decisions (the body's members and the
/// secretariat see them; other invitees an empty list).
pub fn decisions(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    page: &PageRequest,
) -> Result<Page<Decision>, ApiError> {
    visible(conn, caller, id)?;
    let filter = DecisionsFilter {
        meeting_id: Some(Id::from_stored(id)?),
        ..DecisionsFilter::default()
    };
    crate::decisions::repo::list(conn, caller, &filter, page)
}

// ---- Action items ----------------------------------------------------------------------------

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = act)]
struct ActionRow {
    id: Id,
    meeting_id: Id,
    agenda_item_id: Option<Id>,
    title: String,
    description: String,
    owner_person_id: Id,
    #[diesel(select_expression = p::name)]
    owner_name: String,
    due_on: NaiveDate,
    status: ActionItemStatus,
    done_at: Option<NaiveDateTime>,
    reminded_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl ActionRow {
    fn into_item(self) -> ActionItem {
        ActionItem {
            id: self.id,
            meeting_id: self.meeting_id,
            agenda_item_id: self.agenda_item_id,
            title: self.title,
            description: self.description,
            owner_person_id: self.owner_person_id,
            owner_name: self.owner_name,
            due_on: self.due_on,
            status: self.status,
            done_at: self.done_at.map(|t| t.and_utc()),
            reminded_at: self.reminded_at.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

fn find_action_row(
    conn: &mut DbConn,
    meeting_id: &str,
    item_id: &str,
) -> Result<ActionRow, ApiError> {
    act::table
        .inner_join(p::table)
        .filter(act::id.eq(item_id))
        .filter(act::meeting_id.eq(meeting_id))
        .select(ActionRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// An owner: an invitee of the meeting, or a member of its body (a seat today or on the
/// meeting's day); 422 otherwise.
fn check_owner(conn: &mut DbConn, row: &MeetingRow, person: &str) -> Result<(), ApiError> {
    let invited: i64 = mi::table
        .filter(mi::meeting_id.eq(row.id.as_str()))
        .filter(mi::person_id.eq(person))
        .count()
        .get_result(conn)?;
    if invited > 0 {
        return Ok(());
    }
    if let Some(body) = &row.body_id {
        for day in [today(), meeting_day(row)] {
            if !seats_of(conn, person, body.as_str(), day)?.is_empty() {
                return Ok(());
            }
        }
    }
    Err(ApiError::invalid(
        "owner_person_id",
        "not_a_participant",
        "the owner must be an invitee of the meeting or a member of its body",
    ))
}

fn check_agenda_link(conn: &mut DbConn, meeting_id: &str, item: &str) -> Result<(), ApiError> {
    let n: i64 = ai::table
        .filter(ai::id.eq(item))
        .filter(ai::meeting_id.eq(meeting_id))
        .count()
        .get_result(conn)?;
    if n == 0 {
        Err(ApiError::invalid(
            "agenda_item_id",
            "not_found",
            "no such item on this meeting's agenda",
        ))
    } else {
        Ok(())
    }
}

fn check_action_text(title: &str, description: &str) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("title", title, 300);
    check_description(&mut v, "description", description);
    v.finish()
}

/// A meeting's action items by due date, for whoever sees the meeting.
pub fn action_items(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<ActionItems, ApiError> {
    visible(conn, caller, id)?;
    let rows: Vec<ActionRow> = act::table
        .inner_join(p::table)
        .filter(act::meeting_id.eq(id))
        .order((act::due_on.asc(), act::id.asc()))
        .select(ActionRow::as_select())
        .load(conn)?;
    Ok(ActionItems {
        items: rows.into_iter().map(ActionRow::into_item).collect(),
    })
}

/// One action item of a meeting the caller sees.
pub fn action_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: &str,
) -> Result<ActionItem, ApiError> {
    visible(conn, caller, id)?;
    Ok(find_action_row(conn, id, item_id)?.into_item())
}

/// Gives an action item to an invitee or a member of the body (those who manage the meeting).
pub fn create_action_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: Id,
    req: CreateActionItem,
) -> Result<ActionItem, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    not_cancelled(&row)?;
    let title = req.title.trim().to_owned();
    let description = req.description.unwrap_or_default().trim().to_owned();
    check_action_text(&title, &description)?;
    check_owner(conn, &row, req.owner_person_id.as_str())?;
    if let Some(item) = &req.agenda_item_id {
        check_agenda_link(conn, id, item)?;
    }
    let t = now();
    diesel::insert_into(act::table)
        .values((
            act::id.eq(&item_id),
            act::meeting_id.eq(id),
            act::agenda_item_id.eq(&req.agenda_item_id),
            act::title.eq(&title),
            act::description.eq(&description),
            act::owner_person_id.eq(&req.owner_person_id),
            act::due_on.eq(req.due_on),
            act::status.eq(ActionItemStatus::Open),
            act::created_by.eq(caller.author()),
            act::created_at.eq(t),
            act::updated_at.eq(t),
            act::version.eq(1),
        ))
        .execute(conn)?;
    let item = find_action_row(conn, id, &item_id)?.into_item();
    audit::created(conn, &caller.actor(), "action_item", &item_id, &item)?;
    Ok(item)
}

/// Changes an action item (If-Match): those who manage the meeting any field, its owner the
/// status between open and done. A new due date may be reminded again.
pub fn update_action_item(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    item_id: &str,
    if_match: &IfMatch,
    patch: UpdateActionItem,
) -> Result<ActionItem, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    let before_row = find_action_row(conn, id, item_id)?;
    let is_owner = a.person.as_deref() == Some(before_row.owner_person_id.as_str());
    policy::change_action_item(caller, row.kind, &a.seats, is_owner, patch.status_only())?;
    if_match.check(before_row.version)?;
    let before = before_row.clone().into_item();
    let title = patch
        .title
        .map(|v| v.trim().to_owned())
        .unwrap_or(before_row.title.clone());
    let description = patch
        .description
        .map(|v| v.trim().to_owned())
        .unwrap_or(before_row.description.clone());
    check_action_text(&title, &description)?;
    let owner = patch
        .owner_person_id
        .unwrap_or(before_row.owner_person_id.clone());
    if owner != before_row.owner_person_id {
        check_owner(conn, &row, owner.as_str())?;
    }
    let agenda_item_id = patch
        .agenda_item_id
        .unwrap_or(before_row.agenda_item_id.clone());
    if let Some(item) = &agenda_item_id
        && before_row.agenda_item_id.as_ref() != Some(item)
    {
        check_agenda_link(conn, id, item)?;
    }
    let due_on = patch.due_on.unwrap_or(before_row.due_on);
    let status = patch.status.unwrap_or(before_row.status);
    let t = now();
    let done_at = match status {
        ActionItemStatus::Done if before_row.status == ActionItemStatus::Done => before_row.done_at,
        ActionItemStatus::Done => Some(t),
        _ => None,
    };
    let reminded_at = if due_on == before_row.due_on {
        before_row.reminded_at
    } else {
        None
    };
    won_race(
        diesel::update(
            act::table
                .filter(act::id.eq(item_id))
                .filter(act::version.eq(before_row.version)),
        )
        .set((
            act::title.eq(&title),
            act::description.eq(&description),
            act::owner_person_id.eq(&owner),
            act::agenda_item_id.eq(&agenda_item_id),
            act::due_on.eq(due_on),
            act::status.eq(status),
            act::done_at.eq(done_at),
            act::reminded_at.eq(reminded_at),
            act::updated_at.eq(t),
            act::version.eq(act::version + 1),
        ))
        .execute(conn)?,
    )?;
    let after = find_action_row(conn, id, item_id)?.into_item();
    if let Some(changes) = audit::changes(&before, &after) {
        audit::updated(conn, &caller.actor(), "action_item", item_id, changes)?;
    }
    Ok(after)
}

#[derive(Debug, Default, Clone)]
pub struct MyActionItemsFilter {
    /// `open` when absent.
    pub status: Option<ActionItemStatus>,
    /// Due before this day.
    pub due_before: Option<NaiveDate>,
}

/// The action items of the person the caller's account is linked to, by due date (none when
/// it is linked to no person).
pub fn my_action_items(
    conn: &mut DbConn,
    caller: &Caller,
    f: &MyActionItemsFilter,
    page: &PageRequest,
) -> Result<Page<ActionItem>, ApiError> {
    let after = match page.after_two() {
        None => None,
        Some((day, id)) => Some((
            day.parse::<NaiveDate>().map_err(|_| {
                ApiError::bad_request(
                    ProblemType::InvalidParameter,
                    "the cursor is not one this list gave out",
                )
            })?,
            id,
        )),
    };
    let Some(person) = caller_person(conn, caller)? else {
        return Ok(page.page(
            Vec::<ActionRow>::new(),
            |_| Vec::new(),
            ActionRow::into_item,
        ));
    };
    let mut q = act::table
        .inner_join(p::table)
        .filter(act::owner_person_id.eq(person))
        .filter(act::status.eq(f.status.unwrap_or(ActionItemStatus::Open)))
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(day) = f.due_before {
        q = q.filter(act::due_on.lt(day));
    }
    let q = seek_after!(q, after, act::due_on, act::id);
    let rows: Vec<ActionRow> = q
        .order((act::due_on.asc(), act::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.page(
        rows,
        |r| vec![r.due_on.to_string(), r.id.to_string()],
        ActionRow::into_item,
    ))
}

/// The worker's job: reminds each open action item's owner once, when it is due today or
/// tomorrow (their notification preferences decide).
pub fn job(conn: &mut DbConn, mailer: &Mailer) -> Result<usize, ApiError> {
    remind_due(conn, mailer, today(), now())
}

/// [`job`] as of the day `on` (at `at`). Each reminder is claimed by a conditional update of
/// `reminded_at`, so two instances send it once.
pub fn remind_due(
    conn: &mut DbConn,
    mailer: &Mailer,
    on: NaiveDate,
    at: NaiveDateTime,
) -> Result<usize, ApiError> {
    let tomorrow = on + TimeDelta::days(1);
    let due: Vec<(Id, Id, String, NaiveDate, String, String)> = act::table
        .inner_join(m::table)
        .filter(act::status.eq(ActionItemStatus::Open))
        .filter(act::reminded_at.is_null())
        .filter(act::due_on.ge(on))
        .filter(act::due_on.le(tomorrow))
        .order((act::due_on.asc(), act::id.asc()))
        .select((
            act::id,
            act::meeting_id,
            act::title,
            act::due_on,
            act::owner_person_id,
            m::title,
        ))
        .load(conn)?;
    let mut queued = 0;
    for (item_id, meeting_id, title, due_on, owner, meeting_title) in due {
        let claimed = diesel::update(
            act::table
                .filter(act::id.eq(&item_id))
                .filter(act::reminded_at.is_null())
                .filter(act::status.eq(ActionItemStatus::Open)),
        )
        .set(act::reminded_at.eq(Some(at)))
        .execute(conn)?;
        if claimed == 0 {
            continue;
        }
        let values = json!({
            "title": title, "meeting_title": meeting_title, "due": due_on.to_string(),
            "link": mailer.link(&format!("/api/v1/meetings/{meeting_id}/action-items/{item_id}")),
        });
        for to in recipients_for(conn, &[owner])? {
            queued += usize::from(
                enqueue(conn, mailer, Kind::ActionItemDue, &to, values.clone())?.is_some(),
            );
        }
    }
    Ok(queued)
}
