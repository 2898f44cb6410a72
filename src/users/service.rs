//! Creating an account with a password: the one way it is done, whether an admin posts it
//! (`POST /users`), an operator runs `connect admin create-user`, or the service makes the first
//! admin at start-up. (Accepting an invitation makes its account inside the invitation's own
//! transaction, from the same `validate_new` and `insert` steps.)

use diesel::prelude::*;

use super::model::{CreateUser, User};
use super::repo::{insert, validate_new};
use crate::auth::password::PasswordHasher;
use crate::core::{Actor, Id};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::idempotency::IdempotencyClaim;
use crate::schema::users as u;

/// When an account may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Whatever accounts exist.
    Always,
    /// Only into a database with no account yet (the first admin): checked again inside the
    /// write transaction, so of two instances starting together only one makes it.
    NoAccountYet,
}

/// Validates the request (before spending a password hash on an invalid one), hashes the
/// password, then inserts the account and its audit event in one write transaction, which
/// validates again since the first look was outside it. `None` when `when` ruled it out. A
/// request's `Idempotency-Key` claim is marked committed in that transaction.
pub async fn create_user(
    db: &Db,
    hasher: &PasswordHasher,
    actor: Actor,
    req: CreateUser,
    when: When,
    claim: Option<IdempotencyClaim>,
) -> Result<Option<User>, ApiError> {
    let ruled_out = move |conn: &mut crate::db::DbConn| -> Result<bool, ApiError> {
        Ok(when == When::NoAccountYet && u::table.count().get_result::<i64>(conn)? > 0)
    };
    let id = Id::new();
    let (check_id, check) = (id.clone(), req);
    let (email, req) = match db
        .read(move |conn| {
            if ruled_out(conn)? {
                return Ok(None);
            }
            validate_new(conn, &check_id, &check).map(|email| Some((email, check)))
        })
        .await?
    {
        Some(checked) => checked,
        None => return Ok(None),
    };
    let hash = hasher.hash(req.password.clone()).await?;
    IdempotencyClaim::write(claim, db, move |conn| {
        if ruled_out(conn)? {
            return Ok(None);
        }
        insert(conn, &actor, &id, &email, &req, &hash).map(Some)
    })
    .await
}

/// Whether any account exists (start-up says how to make the first one when none does).
pub async fn any_account(db: &Db) -> Result<bool, ApiError> {
    db.read(|conn| Ok(u::table.count().get_result::<i64>(conn)? > 0))
        .await
}

/// Creates the first admin from `CONNECT_ADMIN_EMAIL`/`CONNECT_ADMIN_PASSWORD` when no account
/// exists; true when it did. It is named from the e-mail (`grete.hansen@…` → `Grete Hansen`), as
/// `connect admin create-user` names an admin given no `--name`.
pub async fn ensure_first_admin(
    db: &Db,
    hasher: &PasswordHasher,
    email: &str,
    password: &str,
) -> Result<bool, ApiError> {
    let req = CreateUser {
        email: email.to_owned(),
        display_name: super::model::name_from_email(email),
        role: crate::auth::Role::Admin,
        organisation_id: None,
        person_id: None,
        password: password.to_owned(),
        language: None,
    };
    let created = create_user(db, hasher, Actor::system(), req, When::NoAccountYet, None)
        .await?
        .is_some();
    if created {
        tracing::info!("first admin created from CONNECT_ADMIN_EMAIL");
    }
    Ok(created)
}
