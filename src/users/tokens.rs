//! API tokens: each user creates, lists and revokes their own. Secrets are shown once and stored
//! only as a hash; scopes never exceed what the owner's role can use. Creating one tells the owner
//! by e-mail (a security message), so a token made from a stolen session does not go unnoticed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::{ApiToken, CreateApiToken, CreatedApiToken};
use crate::audit;
use crate::auth::caller::API_TOKEN_PREFIX;
use crate::auth::{Caller, Scope, random_token, token_hash};
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::api_tokens as at;
use crate::validation::Validator;

/// A token as listed (without its hash).
#[derive(Queryable, Selectable)]
#[diesel(table_name = at)]
struct TokenRow {
    id: Id,
    name: String,
    scopes: String,
    token_prefix: String,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl From<TokenRow> for ApiToken {
    fn from(r: TokenRow) -> Self {
        ApiToken {
            id: r.id,
            name: r.name,
            scopes: r
                .scopes
                .split_whitespace()
                .filter_map(Scope::parse)
                .collect(),
            token_prefix: r.token_prefix,
            created_at: r.created_at.and_utc(),
            expires_at: r.expires_at.map(|t| t.and_utc()),
            last_used_at: r.last_used_at.map(|t| t.and_utc()),
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A new token's row.
#[derive(Insertable)]
#[diesel(table_name = at, treat_none_as_default_value = false)]
struct NewToken<'a> {
    id: &'a Id,
    user_id: &'a str,
    name: &'a str,
    token_hash: &'a str,
    token_prefix: &'a str,
    scopes: &'a str,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

/// Who owns a token, and whether it is revoked.
#[derive(Queryable, Selectable)]
#[diesel(table_name = at)]
struct TokenOwner {
    user_id: String,
    revoked_at: Option<NaiveDateTime>,
}

/// Creates an API token for the caller (scopes within what the caller's role can use) and queues
/// the security notice to its owner, in the same transaction.
pub fn create_token(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    req: CreateApiToken,
) -> Result<CreatedApiToken, ApiError> {
    let mut v = Validator::new();
    v.text("name", &req.name, 100);
    if req.scopes.is_empty() {
        v.add("scopes", "required", "name at least one scope");
    }
    let allowed = Scope::allowed_for(caller.role);
    for (i, s) in req.scopes.iter().enumerate() {
        if !allowed.contains(s) {
            v.add(
                &format!("scopes[{i}]"),
                "not_allowed",
                format!("your role cannot use the scope {s}, so no token of yours can"),
            );
        }
    }
    if let Some(exp) = req.expires_at
        && exp <= chrono::Utc::now()
    {
        v.add("expires_at", "in_past", "must be in the future");
    }
    v.finish()?;
    let secret = format!("{API_TOKEN_PREFIX}{}", random_token());
    let id = Id::new();
    let mut scopes: Vec<&str> = req.scopes.iter().map(|s| s.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    let prefix: String = secret.chars().take(8).collect();
    diesel::insert_into(at::table)
        .values(NewToken {
            id: &id,
            user_id: &caller.user_id,
            name: req.name.trim(),
            token_hash: &token_hash(&secret),
            token_prefix: &prefix,
            scopes: &scopes.join(" "),
            created_at: now(),
            expires_at: req.expires_at.map(|t| t.naive_utc()),
        })
        .execute(conn)?;
    let token: ApiToken = at::table
        .filter(at::id.eq(&id))
        .select(TokenRow::as_select())
        .first::<TokenRow>(conn)?
        .into();
    audit::record(
        conn,
        &caller.actor(),
        "api_token.created",
        "api_token",
        &id,
        json!({"name": {"from": null, "to": token.name}, "scopes": {"from": null, "to": scopes}}),
    )?;
    let to = crate::notifications::repo::recipient_for_user(conn, &caller.user_id)?;
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    enqueue(
        conn,
        mailer,
        Kind::ApiTokenCreated,
        &to,
        json!({
            "token_name": token.name,
            "token_prefix": token.token_prefix,
            "scopes": scopes.join(", "),
            "created_at": stamp(token.created_at),
            "expires_at": token.expires_at.map(stamp),
        }),
    )?;
    Ok(CreatedApiToken { token, secret })
}

pub fn list_tokens(
    conn: &mut DbConn,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<ApiToken>, ApiError> {
    let mut q = at::table
        .filter(at::user_id.eq(caller.user_id.clone()))
        .select(TokenRow::as_select())
        .into_boxed();
    if let Some(after) = page.after_one() {
        q = q.filter(at::id.gt(after.to_owned()));
    }
    let rows: Vec<TokenRow> = q.order(at::id.asc()).limit(page.fetch()).load(conn)?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], ApiToken::from))
}

/// Revokes one of the caller's tokens (others' answer 404).
pub fn revoke_token(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let owner: Option<TokenOwner> = at::table
        .filter(at::id.eq(id))
        .select(TokenOwner::as_select())
        .first(conn)
        .optional()?;
    match owner {
        Some(owner) if owner.user_id == caller.user_id => {
            if owner.revoked_at.is_none() {
                diesel::update(at::table.filter(at::id.eq(id)))
                    .set(at::revoked_at.eq(now()))
                    .execute(conn)?;
                audit::record(
                    conn,
                    &caller.actor(),
                    "api_token.revoked",
                    "api_token",
                    id,
                    json!({"revoked": {"from": false, "to": true}}),
                )?;
            }
            Ok(())
        }
        _ => Err(ApiError::NotFound),
    }
}
