//! Database access for bodies and their seats.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::auth::Caller;
use crate::core::BodyRole;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::{body_members as bm, users as u};

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
