//! Sessions (rotating refresh tokens), API-token and session look-ups for the `Caller`, and what
//! a credential change ends ([`end_credentials`]).

use std::collections::BTreeSet;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::exists;
use diesel::prelude::*;

use super::caller::{Caller, Credential, Role, Scope};
use super::{random_token, token_hash};
use crate::core::{MembershipStatus, new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::{
    api_tokens as at, organisations as o, password_resets as pr, refresh_tokens as rt, users as u,
};

/// An active account with its organisation's membership status (from the left join).
#[derive(Queryable, Selectable)]
#[diesel(table_name = u)]
struct CallerRow {
    id: String,
    email: String,
    role: Role,
    organisation_id: Option<String>,
    #[diesel(select_expression = o::membership_status.nullable())]
    membership_status: Option<MembershipStatus>,
}

fn caller_from_row(row: CallerRow, credential: Credential) -> Caller {
    Caller {
        user_id: row.id,
        email: row.email,
        role: row.role,
        organisation_id: row.organisation_id,
        organisation_status: row.membership_status,
        credential,
        request_id: None,
    }
}

// The two look-ups below run on every request, so they are written for the statement cache:
// static queries (no `into_boxed`, so diesel keeps each prepared once per connection) and no
// `LIMIT ?` (`first` binds one, and SQLite re-plans a statement whose bound LIMIT may change the
// plan on every execution). The user id is the primary key: at most one row comes back.

/// The active account behind a session: the session (`sid`) must be open and this user's, so a
/// token naming an admin's `sub` with a representative's `sid` is refused.
pub fn caller_by_session(
    conn: &mut DbConn,
    user_id: &str,
    family_id: &str,
) -> Result<Option<Caller>, ApiError> {
    let open_session = exists(
        rt::table.filter(
            rt::family_id
                .eq(family_id)
                .and(rt::user_id.eq(user_id))
                .and(rt::revoked_at.is_null()),
        ),
    );
    let rows: Vec<CallerRow> = u::table
        .left_join(o::table)
        .filter(u::id.eq(user_id).and(u::active.eq(true)).and(open_session))
        .select(CallerRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().next().map(|row| {
        caller_from_row(
            row,
            Credential::Session {
                family_id: family_id.to_owned(),
            },
        )
    }))
}

/// An active account by id.
fn active_user_row(conn: &mut DbConn, user_id: &str) -> Result<Option<CallerRow>, ApiError> {
    let rows: Vec<CallerRow> = u::table
        .left_join(o::table)
        .filter(u::id.eq(user_id).and(u::active.eq(true)))
        .select(CallerRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().next())
}

/// A live API token, as its use needs it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = at)]
struct LiveToken {
    id: String,
    user_id: String,
    scopes: String,
    last_used_at: Option<NaiveDateTime>,
}

/// The caller behind an API token, if it is neither revoked nor expired and its owner is active.
pub fn caller_by_api_token(conn: &mut DbConn, hash: &str) -> Result<Option<Caller>, ApiError> {
    let now = now();
    // token_hash is unique: at most one row, and no `LIMIT ?` (see above).
    let token: Option<LiveToken> = at::table
        .filter(at::token_hash.eq(hash))
        .filter(at::revoked_at.is_null())
        .filter(at::expires_at.is_null().or(at::expires_at.gt(now)))
        .select(LiveToken::as_select())
        .load(conn)?
        .into_iter()
        .next();
    let Some(LiveToken {
        id: token_id,
        user_id,
        scopes,
        last_used_at: last_used,
    }) = token
    else {
        return Ok(None);
    };
    let Some(row) = active_user_row(conn, &user_id)? else {
        return Ok(None);
    };
    // Note the use at most once a minute, so tokens used in bulk cost no write per request.
    if last_used.is_none_or(|t| t < now - TimeDelta::minutes(1)) {
        diesel::update(at::table.filter(at::id.eq(&token_id)))
            .set(at::last_used_at.eq(now))
            .execute(conn)?;
    }
    let scopes: BTreeSet<Scope> = scopes.split_whitespace().filter_map(Scope::parse).collect();
    Ok(Some(caller_from_row(
        row,
        Credential::ApiToken { token_id, scopes },
    )))
}

/// Starts a session: a new refresh-token family. Returns (family id, refresh token).
pub fn start_session(
    conn: &mut DbConn,
    user_id: &str,
    ttl_secs: i64,
) -> Result<(String, String), ApiError> {
    let family = new_id();
    let token = issue_refresh(conn, user_id, &family, ttl_secs)?;
    Ok((family, token))
}

fn issue_refresh(
    conn: &mut DbConn,
    user_id: &str,
    family: &str,
    ttl_secs: i64,
) -> Result<String, ApiError> {
    let token = random_token();
    let now = now();
    diesel::insert_into(rt::table)
        .values((
            rt::id.eq(new_id()),
            rt::family_id.eq(family),
            rt::user_id.eq(user_id),
            rt::token_hash.eq(token_hash(&token)),
            rt::created_at.eq(now),
            rt::expires_at.eq(now + TimeDelta::seconds(ttl_secs)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What presenting a refresh token led to.
pub enum Rotation {
    /// A fresh refresh token in the same family, for this user.
    Rotated {
        user_id: String,
        family_id: String,
        token: String,
    },
    /// The token was already used or revoked: its whole family has now been revoked.
    Reused,
    /// Unknown or expired token, or an inactive account.
    Invalid,
}

/// Rotates a refresh token. The first use wins by a conditional update; any later use of the same
/// token is a replay, so the family is revoked (call inside a write transaction and commit even on
/// `Reused`).
pub fn rotate(conn: &mut DbConn, presented: &str, ttl_secs: i64) -> Result<Rotation, ApiError> {
    let hash = token_hash(presented);
    let now = now();
    let claimed = diesel::update(
        rt::table
            .filter(rt::token_hash.eq(&hash))
            .filter(rt::used_at.is_null())
            .filter(rt::revoked_at.is_null())
            .filter(rt::expires_at.gt(now)),
    )
    .set(rt::used_at.eq(now))
    .execute(conn)?;
    let session: Option<SessionOf> = rt::table
        .filter(rt::token_hash.eq(&hash))
        .select(SessionOf::as_select())
        .first(conn)
        .optional()?;
    let Some(SessionOf { user_id, family_id }) = session else {
        return Ok(Rotation::Invalid);
    };
    if claimed == 0 {
        // Expired-but-unused tokens are just invalid; a used or revoked one is a replay.
        let replayed = rt::table
            .filter(rt::token_hash.eq(&hash))
            .filter(rt::used_at.is_not_null().or(rt::revoked_at.is_not_null()))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if replayed {
            revoke_family(conn, &family_id)?;
            return Ok(Rotation::Reused);
        }
        return Ok(Rotation::Invalid);
    }
    let active: bool = u::table
        .filter(u::id.eq(&user_id))
        .select(u::active)
        .first(conn)?;
    if !active {
        revoke_family(conn, &family_id)?;
        return Ok(Rotation::Invalid);
    }
    let token = issue_refresh(conn, &user_id, &family_id, ttl_secs)?;
    Ok(Rotation::Rotated {
        user_id,
        family_id,
        token,
    })
}

/// The session (family) and account a refresh token belongs to.
#[derive(Queryable, Selectable)]
#[diesel(table_name = rt)]
struct SessionOf {
    user_id: String,
    family_id: String,
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str) -> Result<usize, ApiError> {
    Ok(diesel::update(
        rt::table
            .filter(rt::family_id.eq(family_id))
            .filter(rt::revoked_at.is_null()),
    )
    .set(rt::revoked_at.eq(now()))
    .execute(conn)?)
}

/// Logout: ends the session the refresh token belongs to (true when there was one). Unknown
/// tokens are ignored.
pub fn logout(conn: &mut DbConn, presented: &str) -> Result<bool, ApiError> {
    let session: Option<SessionOf> = rt::table
        .filter(rt::token_hash.eq(token_hash(presented)))
        .select(SessionOf::as_select())
        .first(conn)
        .optional()?;
    match session {
        Some(session) => revoke_family(conn, &session.family_id).map(|_| true),
        None => Ok(false),
    }
}

/// Ends every session of a user, but `keep` (the caller's own, when changing their password).
pub fn revoke_user_sessions(
    conn: &mut DbConn,
    user_id: &str,
    keep: Option<&str>,
) -> Result<usize, ApiError> {
    let mut q = diesel::update(rt::table)
        .filter(rt::user_id.eq(user_id.to_owned()))
        .filter(rt::revoked_at.is_null())
        .into_boxed();
    if let Some(keep) = keep {
        q = q.filter(rt::family_id.ne(keep.to_owned()));
    }
    Ok(q.set(rt::revoked_at.eq(now())).execute(conn)?)
}

/// Revokes every live API token of a user, for good.
pub fn revoke_api_tokens(conn: &mut DbConn, user_id: &str) -> Result<usize, ApiError> {
    Ok(diesel::update(
        at::table
            .filter(at::user_id.eq(user_id))
            .filter(at::revoked_at.is_null()),
    )
    .set(at::revoked_at.eq(now()))
    .execute(conn)?)
}

/// Voids every outstanding password-reset link of a user.
pub fn void_reset_links(conn: &mut DbConn, user_id: &str) -> Result<usize, ApiError> {
    Ok(diesel::update(
        pr::table
            .filter(pr::user_id.eq(user_id))
            .filter(pr::used_at.is_null()),
    )
    .set(pr::used_at.eq(now()))
    .execute(conn)?)
}

/// What [`end_credentials`] ended, for the audit event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ended {
    pub sessions: usize,
    pub api_tokens: usize,
    pub reset_links: usize,
}

impl Ended {
    /// The counts as audit changes (`sessions_ended` is named `other_sessions_ended` when the
    /// caller's own session was kept).
    pub fn audit(&self, kept_one: bool) -> serde_json::Value {
        let sessions = if kept_one {
            "other_sessions_ended"
        } else {
            "sessions_ended"
        };
        let mut changes = serde_json::json!({
            "api_tokens_revoked": self.api_tokens,
            "reset_links_voided": self.reset_links,
        });
        changes[sessions] = serde_json::json!(self.sessions);
        changes
    }
}

/// Ends everything that lets someone act as a user without knowing their password, after the
/// password was changed or reset, or the account deactivated: every session but `keep` (the
/// caller's own, when they changed their password themselves), every API token (all of them: a
/// token made from a stolen session must not outlive the owner's recovery, and which of them
/// were made by the owner cannot be told), and every outstanding password-reset link.
pub fn end_credentials(
    conn: &mut DbConn,
    user_id: &str,
    keep: Option<&str>,
) -> Result<Ended, ApiError> {
    Ok(Ended {
        sessions: revoke_user_sessions(conn, user_id, keep)?,
        api_tokens: revoke_api_tokens(conn, user_id)?,
        reset_links: void_reset_links(conn, user_id)?,
    })
}

/// What a login checks.
#[derive(Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct Credentials {
    #[diesel(column_name = id)]
    pub user_id: String,
    pub password_hash: String,
    pub active: bool,
}

/// The login look-up by normalised e-mail.
pub fn credentials_by_email(
    conn: &mut DbConn,
    email: &str,
) -> Result<Option<Credentials>, ApiError> {
    Ok(u::table
        .filter(u::email.eq(email))
        .select(Credentials::as_select())
        .first(conn)
        .optional()?)
}

pub fn password_hash_of(conn: &mut DbConn, user_id: &str) -> Result<String, ApiError> {
    Ok(u::table
        .filter(u::id.eq(user_id))
        .select(u::password_hash)
        .first(conn)?)
}

pub fn set_password(conn: &mut DbConn, user_id: &str, hash: &str) -> Result<(), ApiError> {
    let now = now();
    diesel::update(u::table.filter(u::id.eq(user_id)))
        .set((
            u::password_hash.eq(hash),
            u::password_changed_at.eq(now),
            u::updated_at.eq(now),
            u::version.eq(u::version + 1),
        ))
        .execute(conn)?;
    Ok(())
}
