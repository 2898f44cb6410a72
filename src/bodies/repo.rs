//! Database access for bodies and their seats. Every write runs inside the caller's transaction
//! and writes its audit event there too. Seats are never deleted: a member who leaves keeps the
//! seat with its last day (`to_date`).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{
    Body, BodyKind, BodyStatus, CreateSeat, Majority, PersonSeat, PersonSeats, Seat, UpdateBody,
    UpdateSeat, in_force, overlap, validate, validate_dates,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{BodyRole, Id, MembershipStatus, now};
use crate::db::functions::{fold_case, lower};
use crate::db::{DbConn, MultiBackend, like_pattern, seek_after};
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::schema::{bodies as b, body_members as bm, organisations as o, people as p, users as u};

/// The person behind the caller's account, if the account is linked to one (API tokens act for
/// their owner's person).
pub fn caller_person(conn: &mut DbConn, caller: &Caller) -> Result<Option<String>, ApiError> {
    if caller.user_id.is_empty() {
        return Ok(None);
    }
    Ok(u::table
        .filter(u::id.eq(&caller.user_id))
        .select(u::person_id)
        .load::<Option<String>>(conn)?
        .into_iter()
        .next()
        .flatten())
}

/// The roles of a person's seats in a body on a day (a seat counts from its first day through
/// its last).
pub fn seats_of(
    conn: &mut DbConn,
    person_id: &str,
    body_id: &str,
    on: NaiveDate,
) -> Result<Vec<BodyRole>, ApiError> {
    Ok(bm::table
        .filter(bm::body_id.eq(body_id))
        .filter(bm::person_id.eq(person_id))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .select(bm::role)
        .load(conn)?)
}

/// The roles of the caller's current seats in a body (none without a linked person), for the
/// policy's questions about the body.
pub fn caller_seats(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    on: NaiveDate,
) -> Result<Vec<BodyRole>, ApiError> {
    match caller_person(conn, caller)? {
        Some(person) => seats_of(conn, &person, body_id, on),
        None => Ok(Vec::new()),
    }
}

// ---- Bodies ----------------------------------------------------------------------------------

/// A body as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = b)]
struct BodyRow {
    id: Id,
    kind: BodyKind,
    name: String,
    short_name: Option<String>,
    mandate: String,
    status: BodyStatus,
    started_on: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    quorum_percent: i32,
    majority: Majority,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl BodyRow {
    fn into_body(self, member_count: i64, my_roles: Vec<BodyRole>) -> Body {
        Body {
            id: self.id,
            kind: self.kind,
            name: self.name,
            short_name: self.short_name,
            mandate: self.mandate,
            status: self.status,
            started_on: self.started_on,
            ended_on: self.ended_on,
            quorum_percent: self.quorum_percent,
            majority: self.majority,
            member_count,
            my_roles,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

/// The columns a create writes and an update may change (`None` clears an optional field).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = b, treat_none_as_null = true)]
struct BodyFields<'a> {
    kind: BodyKind,
    name: &'a str,
    short_name: Option<&'a str>,
    mandate: &'a str,
    status: BodyStatus,
    started_on: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    quorum_percent: i32,
    majority: Majority,
    updated_at: NaiveDateTime,
}

impl<'a> BodyFields<'a> {
    fn of(body: &'a Body, updated_at: NaiveDateTime) -> Self {
        BodyFields {
            kind: body.kind,
            name: &body.name,
            short_name: body.short_name.as_deref(),
            mandate: &body.mandate,
            status: body.status,
            started_on: body.started_on,
            ended_on: body.ended_on,
            quorum_percent: body.quorum_percent,
            majority: body.majority,
            updated_at,
        }
    }
}

/// A body's row (404 when it does not exist); no `LIMIT`, as every body route reads it.
fn find_row(conn: &mut DbConn, id: &str) -> Result<BodyRow, ApiError> {
    b::table
        .filter(b::id.eq(id))
        .select(BodyRow::as_select())
        .load::<BodyRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

/// How many seats are in force on `on` in each of the given bodies.
fn member_counts(
    conn: &mut DbConn,
    ids: &[&str],
    on: NaiveDate,
) -> Result<HashMap<String, i64>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64)> = bm::table
        .filter(bm::body_id.eq_any(ids))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .group_by(bm::body_id)
        .select((bm::body_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The roles of a person's seats in force on `on` in each of the given bodies.
fn roles_in(
    conn: &mut DbConn,
    person: Option<&str>,
    ids: &[&str],
    on: NaiveDate,
) -> Result<HashMap<String, Vec<BodyRole>>, ApiError> {
    let mut out: HashMap<String, Vec<BodyRole>> = HashMap::new();
    let Some(person) = person else {
        return Ok(out);
    };
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, BodyRole)> = bm::table
        .filter(bm::person_id.eq(person))
        .filter(bm::body_id.eq_any(ids))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .select((bm::body_id, bm::role))
        .load(conn)?;
    for (body, role) in rows {
        out.entry(body).or_default().push(role);
    }
    Ok(out)
}

/// Rows made bodies, with their member counts and the caller's roles (two queries for a page).
fn with_counts(
    conn: &mut DbConn,
    caller: &Caller,
    rows: Vec<BodyRow>,
    on: NaiveDate,
) -> Result<Vec<Body>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut counts = member_counts(conn, &ids, on)?;
    let person = caller_person(conn, caller)?;
    let mut roles = roles_in(conn, person.as_deref(), &ids, on)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = counts.remove(r.id.as_str()).unwrap_or(0);
            let mine = roles.remove(r.id.as_str()).unwrap_or_default();
            r.into_body(n, mine)
        })
        .collect())
}

/// A body regardless of who asks (404 when it does not exist), with its member count on `on`
/// and no roles of a caller.
pub fn find(conn: &mut DbConn, id: &str, on: NaiveDate) -> Result<Body, ApiError> {
    let row = find_row(conn, id)?;
    let count = member_counts(conn, &[id], on)?.remove(id).unwrap_or(0);
    Ok(row.into_body(count, Vec::new()))
}

/// A body the caller may see (404 otherwise), with its member count and the caller's roles.
pub fn get(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    today: NaiveDate,
) -> Result<Body, ApiError> {
    let row = find_row(conn, id)?;
    let seats = caller_seats(conn, caller, id, today)?;
    policy::see_body(caller, &seats)?;
    let count = member_counts(conn, &[id], today)?.remove(id).unwrap_or(0);
    Ok(row.into_body(count, seats))
}

/// A friendly 409 before the unique index on lower(name) would answer.
fn check_unique(conn: &mut DbConn, body: &Body) -> Result<(), ApiError> {
    let taken: i64 = b::table
        .filter(lower(b::name).eq(body.name.to_lowercase()))
        .filter(b::id.ne(&body.id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::conflict("another body already has this name"));
    }
    Ok(())
}

pub fn create(conn: &mut DbConn, caller: &Caller, body: Body) -> Result<Body, ApiError> {
    policy::manage_bodies(caller)?;
    validate(&body)?;
    check_unique(conn, &body)?;
    let t = body.created_at.naive_utc();
    diesel::insert_into(b::table)
        .values((
            b::id.eq(&body.id),
            BodyFields::of(&body, t),
            b::created_at.eq(t),
            b::version.eq(1),
        ))
        .execute(conn)?;
    audit::created(conn, &caller.actor(), "body", &body.id, &body)?;
    get(conn, caller, &body.id, t.date())
}

pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateBody,
    today: NaiveDate,
) -> Result<Body, ApiError> {
    let before = get(conn, caller, id, today)?;
    policy::manage_bodies(caller)?;
    if_match.check(before.version)?;
    let after = patch.apply(&before, today);
    validate(&after)?;
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    check_unique(conn, &after)?;
    won_race(
        diesel::update(
            b::table
                .filter(b::id.eq(id))
                .filter(b::version.eq(before.version)),
        )
        .set((
            BodyFields::of(&after, now()),
            b::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::updated(conn, &caller.actor(), "body", id, changes)?;
    get(conn, caller, id, today)
}

#[derive(Debug, Default, Clone)]
pub struct BodiesFilter {
    pub kind: Option<BodyKind>,
    pub status: Option<BodyStatus>,
    pub q: Option<String>,
}

/// A page of bodies, by name: every member of the consortium sees them all.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &BodiesFilter,
    page: &PageRequest,
    today: NaiveDate,
) -> Result<Page<Body>, ApiError> {
    policy::see_bodies(caller)?;
    let mut q = b::table.select(BodyRow::as_select()).into_boxed();
    if let Some(v) = f.kind {
        q = q.filter(b::kind.eq(v));
    }
    if let Some(v) = f.status {
        q = q.filter(b::status.eq(v));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q = q.filter(
            fold_case(b::name.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(fold_case(b::short_name).like(pattern).escape('\\')),
        );
    }
    let q = seek_after!(q, page.after_two(), b::name, b::id);
    let rows: Vec<BodyRow> = q
        .order((b::name.asc(), b::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let bodies = with_counts(conn, caller, rows, today)?;
    Ok(page.page(bodies, |r| vec![r.name.clone(), r.id.to_string()], |r| r))
}

// ---- Seats -----------------------------------------------------------------------------------

/// A seat as read, with its person and the person's organisation.
#[derive(Queryable, Selectable)]
#[diesel(table_name = bm)]
struct SeatRow {
    id: Id,
    body_id: Id,
    person_id: Id,
    #[diesel(select_expression = p::name)]
    person_name: String,
    #[diesel(select_expression = p::organisation_id)]
    organisation_id: Option<Id>,
    #[diesel(select_expression = o::name.nullable())]
    organisation_name: Option<String>,
    #[diesel(select_expression = o::membership_status.nullable())]
    organisation_status: Option<MembershipStatus>,
    role: BodyRole,
    from_date: NaiveDate,
    to_date: Option<NaiveDate>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl SeatRow {
    fn into_seat(self, today: NaiveDate) -> Seat {
        let current = in_force(self.from_date, self.to_date, today);
        Seat {
            votes: current && policy::holds_vote(self.role, self.organisation_status),
            current,
            id: self.id,
            body_id: self.body_id,
            person_id: self.person_id,
            person_name: self.person_name,
            organisation_id: self.organisation_id,
            organisation_name: self.organisation_name,
            role: self.role,
            from_date: self.from_date,
            to_date: self.to_date,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

fn seat_query() -> SeatQuery {
    bm::table
        .inner_join(p::table.left_join(o::table))
        .select(SeatRow::as_select())
}

type SeatQuery = diesel::helper_types::Select<
    diesel::helper_types::InnerJoin<bm::table, diesel::helper_types::LeftJoin<p::table, o::table>>,
    diesel::helper_types::AsSelect<SeatRow, MultiBackend>,
>;

/// The body (404 when missing or hidden) and the caller's seats in it; then the policy's answer
/// on who sees its members (403).
fn members_visible(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    today: NaiveDate,
) -> Result<(BodyRow, Vec<BodyRole>), ApiError> {
    let row = find_row(conn, body_id)?;
    let seats = caller_seats(conn, caller, body_id, today)?;
    policy::see_body(caller, &seats)?;
    policy::see_members(caller, &seats)?;
    Ok((row, seats))
}

fn find_seat(
    conn: &mut DbConn,
    body_id: &str,
    seat_id: &str,
    today: NaiveDate,
) -> Result<Seat, ApiError> {
    seat_query()
        .filter(bm::id.eq(seat_id))
        .filter(bm::body_id.eq(body_id))
        .load::<SeatRow>(conn)?
        .into_iter()
        .next()
        .map(|r| r.into_seat(today))
        .ok_or(ApiError::NotFound)
}

/// One seat of a body whose members the caller sees.
pub fn get_seat(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    seat_id: &str,
    today: NaiveDate,
) -> Result<Seat, ApiError> {
    members_visible(conn, caller, body_id, today)?;
    find_seat(conn, body_id, seat_id, today)
}

#[derive(Debug, Clone)]
pub struct SeatsFilter {
    /// Only seats in force today (`false`: every seat, past and future too).
    pub current: bool,
    pub role: Option<BodyRole>,
    pub person_id: Option<Id>,
}

/// A page of a body's seats, by first day.
pub fn list_seats(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    f: &SeatsFilter,
    page: &PageRequest,
    today: NaiveDate,
) -> Result<Page<Seat>, ApiError> {
    members_visible(conn, caller, body_id, today)?;
    let after = page.after_keyed::<NaiveDate>()?;
    let mut q = seat_query()
        .filter(bm::body_id.eq(body_id.to_owned()))
        .into_boxed();
    if f.current {
        q = q
            .filter(bm::from_date.le(today))
            .filter(bm::to_date.is_null().or(bm::to_date.ge(today)));
    }
    if let Some(v) = f.role {
        q = q.filter(bm::role.eq(v));
    }
    if let Some(v) = &f.person_id {
        q = q.filter(bm::person_id.eq(v.clone()));
    }
    let q = seek_after!(q, after, bm::from_date, bm::id);
    let rows: Vec<SeatRow> = q
        .order((bm::from_date.asc(), bm::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.page(
        rows,
        |r| vec![r.from_date.to_string(), r.id.to_string()],
        |r| r.into_seat(today),
    ))
}

/// 409 when the person already holds a seat in the body on any day of `run`.
fn check_overlap(
    conn: &mut DbConn,
    body_id: &str,
    person_id: &str,
    seat_id: &str,
    run: (NaiveDate, Option<NaiveDate>),
) -> Result<(), ApiError> {
    let others: Vec<(NaiveDate, Option<NaiveDate>)> = bm::table
        .filter(bm::body_id.eq(body_id))
        .filter(bm::person_id.eq(person_id))
        .filter(bm::id.ne(seat_id))
        .select((bm::from_date, bm::to_date))
        .load(conn)?;
    if others.into_iter().any(|other| overlap(run, other)) {
        return Err(ApiError::conflict(
            "the person already holds a seat in this body on some of these days",
        ));
    }
    Ok(())
}

/// A write of a seat that the database's unique index on open-ended seats refuses (two requests
/// seating one person at once, each having found no overlap) answers as the overlap check does.
fn seat_written(result: QueryResult<usize>) -> Result<usize, ApiError> {
    use diesel::result::{DatabaseErrorKind, Error};
    result.map_err(|e| match e {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
            ApiError::conflict("the person already holds an open-ended seat in this body")
        }
        e => e.into(),
    })
}

/// The membership status of a person's organisation (`None`: no organisation).
pub fn organisation_status(
    conn: &mut DbConn,
    organisation_id: Option<&str>,
) -> Result<Option<MembershipStatus>, ApiError> {
    let Some(org) = organisation_id else {
        return Ok(None);
    };
    Ok(o::table
        .filter(o::id.eq(org))
        .select(o::membership_status)
        .load::<MembershipStatus>(conn)?
        .into_iter()
        .next())
}

/// Gives a person a seat: the secretariat, or the body's chair, co-chair or secretary.
pub fn add_seat(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    seat_id: Id,
    req: CreateSeat,
    today: NaiveDate,
) -> Result<Seat, ApiError> {
    let row = find_row(conn, body_id)?;
    let seats = caller_seats(conn, caller, body_id, today)?;
    policy::see_body(caller, &seats)?;
    policy::manage_members(caller, &seats)?;
    if row.status == BodyStatus::Dissolved {
        return Err(ApiError::conflict("a dissolved body takes no new seats"));
    }
    // A person the caller may not see is, to them, no person at all.
    let person = match crate::people::repo::get_visible(conn, caller, &req.person_id) {
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
    let status = organisation_status(conn, person.organisation_id.as_deref())?;
    policy::seat_role_allowed(status, req.role)?;
    let from = req.from_date.unwrap_or(today);
    validate_dates(from, req.to_date)?;
    check_overlap(conn, body_id, &person.id, &seat_id, (from, req.to_date))?;
    let t = now();
    seat_written(
        diesel::insert_into(bm::table)
            .values((
                bm::id.eq(&seat_id),
                bm::body_id.eq(body_id),
                bm::person_id.eq(&person.id),
                bm::role.eq(req.role),
                bm::from_date.eq(from),
                bm::to_date.eq(req.to_date),
                bm::created_at.eq(t),
                bm::updated_at.eq(t),
                bm::version.eq(1),
            ))
            .execute(conn),
    )?;
    let seat = find_seat(conn, body_id, &seat_id, today)?;
    audit::created(conn, &caller.actor(), "body_member", &seat_id, &seat)?;
    Ok(seat)
}

/// Changes a seat's role (checked against the organisation's status today) or the day it ends.
pub fn update_seat(
    conn: &mut DbConn,
    caller: &Caller,
    body_id: &str,
    seat_id: &str,
    if_match: &IfMatch,
    patch: UpdateSeat,
    today: NaiveDate,
) -> Result<Seat, ApiError> {
    let row = find_row(conn, body_id)?;
    let seats = caller_seats(conn, caller, body_id, today)?;
    policy::see_body(caller, &seats)?;
    let before = find_seat(conn, &row.id, seat_id, today)?;
    policy::manage_members(caller, &seats)?;
    if_match.check(before.version)?;
    let role = patch.role.unwrap_or(before.role);
    let to_date = patch.to_date.unwrap_or(before.to_date);
    if role == before.role && to_date == before.to_date {
        return Ok(before);
    }
    if role != before.role {
        let status = organisation_status(conn, before.organisation_id.as_deref())?;
        policy::seat_role_allowed(status, role)?;
    }
    validate_dates(before.from_date, to_date)?;
    if to_date != before.to_date {
        check_overlap(
            conn,
            body_id,
            &before.person_id,
            seat_id,
            (before.from_date, to_date),
        )?;
    }
    won_race(seat_written(
        diesel::update(
            bm::table
                .filter(bm::id.eq(seat_id))
                .filter(bm::version.eq(before.version)),
        )
        .set((
            bm::role.eq(role),
            bm::to_date.eq(to_date),
            bm::updated_at.eq(now()),
            bm::version.eq(before.version + 1),
        ))
        .execute(conn),
    )?)?;
    let after = find_seat(conn, body_id, seat_id, today)?;
    if let Some(changes) = audit::changes(&before, &after) {
        audit::updated(conn, &caller.actor(), "body_member", seat_id, changes)?;
    }
    Ok(after)
}

// ---- Where a person sits ---------------------------------------------------------------------

/// A person's seat as read, with its body.
#[derive(Queryable, Selectable)]
#[diesel(table_name = bm)]
struct PersonSeatRow {
    id: Id,
    body_id: Id,
    #[diesel(select_expression = b::name)]
    body_name: String,
    #[diesel(select_expression = b::kind)]
    body_kind: BodyKind,
    role: BodyRole,
    from_date: NaiveDate,
    to_date: Option<NaiveDate>,
}

fn seats_held(
    conn: &mut DbConn,
    person_id: &str,
    today: NaiveDate,
) -> Result<PersonSeats, ApiError> {
    let rows: Vec<PersonSeatRow> = bm::table
        .inner_join(b::table)
        .filter(bm::person_id.eq(person_id))
        .order((bm::from_date.desc(), bm::id.desc()))
        .select(PersonSeatRow::as_select())
        .load(conn)?;
    Ok(PersonSeats {
        items: rows
            .into_iter()
            .map(|r| PersonSeat {
                current: in_force(r.from_date, r.to_date, today),
                id: r.id,
                body_id: r.body_id,
                body_name: r.body_name,
                body_kind: r.body_kind,
                role: r.role,
                from_date: r.from_date,
                to_date: r.to_date,
            })
            .collect(),
    })
}

/// Where a person the caller may see sits and sat (404 for a person they may not see).
pub fn person_seats(
    conn: &mut DbConn,
    caller: &Caller,
    person_id: &str,
    today: NaiveDate,
) -> Result<PersonSeats, ApiError> {
    crate::people::repo::get_visible(conn, caller, person_id)?;
    seats_held(conn, person_id, today)
}

/// Where the caller's own person sits and sat (none without a linked person).
pub fn my_seats(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
) -> Result<PersonSeats, ApiError> {
    match caller_person(conn, caller)? {
        Some(person) => seats_held(conn, &person, today),
        None => Ok(PersonSeats { items: Vec::new() }),
    }
}

/// A member who counts as a voter of a body on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub person_id: Id,
    /// The person's organisation (a voter of no organisation: `None`).
    pub organisation_id: Option<Id>,
}

/// The voting members of a body on `on`: seats in force that are not observers', whose person's
/// organisation votes today ([`policy::holds_vote`]); each person once, by seat order.
pub fn voters(conn: &mut DbConn, body_id: &str, on: NaiveDate) -> Result<Vec<Voter>, ApiError> {
    let rows: Vec<SeatRow> = seat_query()
        .filter(bm::body_id.eq(body_id))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .order((bm::from_date.asc(), bm::id.asc()))
        .load(conn)?;
    let mut out: Vec<Voter> = Vec::new();
    for r in rows {
        if policy::holds_vote(r.role, r.organisation_status)
            && !out.iter().any(|v| v.person_id == r.person_id)
        {
            out.push(Voter {
                person_id: r.person_id,
                organisation_id: r.organisation_id,
            });
        }
    }
    Ok(out)
}
