//! Password reset by e-mail: a one-time link valid for an hour; confirming it sets the new
//! password and ends every session, API token and other reset link of the account.

use chrono::TimeDelta;
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::auth::{random_token, token_hash};
use crate::core::{Actor, new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{password_resets as pr, users as u};

pub const VALID_FOR: TimeDelta = TimeDelta::hours(1);
/// At most this many reset messages per account per hour; further requests are ignored quietly.
pub const PER_ACCOUNT_PER_HOUR: i64 = 3;

/// Handles a reset request for `email`: when an active account has it (and has not asked too
/// often), stores a new one-time token and queues the message. Says nothing either way.
pub fn request(conn: &mut DbConn, mailer: &Mailer, email: &str) -> Result<bool, ApiError> {
    let user: Option<String> = u::table
        .filter(u::email.eq(email))
        .filter(u::active.eq(true))
        .select(u::id)
        .first(conn)
        .optional()?;
    let Some(user_id) = user else {
        return Ok(false);
    };
    // Concurrent requests for one account wait here, so the count below holds on PostgreSQL
    // too (SQLite has a single writer already).
    if let DbConn::Pg(c) = conn {
        u::table
            .filter(u::id.eq(&user_id))
            .select(u::id)
            .for_update()
            .first::<String>(c)?;
    }
    let t = now();
    let recent: i64 = pr::table
        .filter(pr::user_id.eq(&user_id))
        .filter(pr::created_at.gt(t - TimeDelta::hours(1)))
        .count()
        .get_result(conn)?;
    if recent >= PER_ACCOUNT_PER_HOUR {
        tracing::info!("password reset not sent: too many requests for the account this hour");
        return Ok(false);
    }
    let token = random_token();
    let id = new_id();
    diesel::insert_into(pr::table)
        .values((
            pr::id.eq(&id),
            pr::user_id.eq(&user_id),
            pr::token_hash.eq(token_hash(&token)),
            pr::created_at.eq(t),
            pr::expires_at.eq(t + VALID_FOR),
        ))
        .execute(conn)?;
    let to = crate::notifications::repo::recipient_for_user(conn, &user_id)?;
    let values = json!({"link": mailer.link(&format!("/password-reset/{token}")), "minutes": VALID_FOR.num_minutes()});
    enqueue(conn, mailer, Kind::PasswordReset, &to, values)?;
    audit::record(
        conn,
        &Actor::system(),
        "user.password_reset_requested",
        "user",
        &user_id,
        json!({}),
    )?;
    Ok(true)
}

/// The account a reset link is for.
#[derive(Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct ResetAccount {
    #[diesel(column_name = id)]
    pub user_id: String,
    pub email: String,
    /// The account's language (the reset page is shown in it).
    pub language: String,
}

/// The account a valid, unused, unexpired reset token belongs to.
pub fn open_token(conn: &mut DbConn, token: &str) -> Result<ResetAccount, ApiError> {
    pr::table
        .inner_join(u::table)
        .filter(pr::token_hash.eq(token_hash(token)))
        .filter(pr::used_at.is_null())
        .filter(pr::expires_at.gt(now()))
        .filter(u::active.eq(true))
        .select(ResetAccount::as_select())
        .first(conn)
        .optional()?
        .ok_or(ApiError::NotFound)
}

/// Uses a reset token (once: a conditional update), sets the new password, ends every session,
/// revokes every API token, voids the account's other reset links and tells the user.
pub fn confirm(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
    hash: &str,
) -> Result<String, ApiError> {
    let user_id = open_token(conn, token)?.user_id;
    let t = now();
    let used = diesel::update(
        pr::table
            .filter(pr::token_hash.eq(token_hash(token)))
            .filter(pr::used_at.is_null()),
    )
    .set(pr::used_at.eq(t))
    .execute(conn)?;
    if used == 0 {
        return Err(ApiError::NotFound);
    }
    crate::auth::repo::set_password(conn, &user_id, hash)?;
    let ended = crate::auth::repo::end_credentials(conn, &user_id, None)?;
    super::repo::notify_password_changed(conn, mailer, &user_id)?;
    audit::record(
        conn,
        &Actor::user(&user_id, None),
        "user.password_reset",
        "user",
        &user_id,
        ended.audit(false),
    )?;
    Ok(user_id)
}
