//! API tokens: each user creates, lists and revokes their own. Secrets are shown once and stored
//! only as a hash; scopes never exceed what the owner's role can use.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::{ApiToken, CreateApiToken, CreatedApiToken};
use crate::audit;
use crate::auth::caller::API_TOKEN_PREFIX;
use crate::auth::{Caller, Scope, random_token, token_hash};
use crate::core::{new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::schema::api_tokens as at;
use crate::validation::Validator;

type TokenRow = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

const TOKEN_COLUMNS: (
    at::id,
    at::name,
    at::scopes,
    at::token_prefix,
    at::created_at,
    at::expires_at,
    at::last_used_at,
    at::revoked_at,
) = (
    at::id,
    at::name,
    at::scopes,
    at::token_prefix,
    at::created_at,
    at::expires_at,
    at::last_used_at,
    at::revoked_at,
);

fn to_token(r: TokenRow) -> ApiToken {
    ApiToken {
        id: r.0,
        name: r.1,
        scopes: r.2.split_whitespace().filter_map(Scope::parse).collect(),
        token_prefix: r.3,
        created_at: r.4.and_utc(),
        expires_at: r.5.map(|t| t.and_utc()),
        last_used_at: r.6.map(|t| t.and_utc()),
        revoked_at: r.7.map(|t| t.and_utc()),
    }
}

/// Creates an API token for the caller: scopes within what the caller's role can use.
pub fn create_token(
    conn: &mut DbConn,
    caller: &Caller,
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
    let id = new_id();
    let mut scopes: Vec<&str> = req.scopes.iter().map(|s| s.as_str()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    diesel::insert_into(at::table)
        .values((
            at::id.eq(&id),
            at::user_id.eq(&caller.user_id),
            at::name.eq(req.name.trim()),
            at::token_hash.eq(token_hash(&secret)),
            at::token_prefix.eq(secret.chars().take(8).collect::<String>()),
            at::scopes.eq(scopes.join(" ")),
            at::created_at.eq(now()),
            at::expires_at.eq(req.expires_at.map(|t| t.naive_utc())),
        ))
        .execute(conn)?;
    let token = to_token(
        at::table
            .filter(at::id.eq(&id))
            .select(TOKEN_COLUMNS)
            .first(conn)?,
    );
    audit::record(
        conn,
        &caller.actor(),
        "api_token.created",
        "api_token",
        &id,
        json!({"name": {"from": null, "to": token.name}, "scopes": {"from": null, "to": scopes}}),
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
        .select(TOKEN_COLUMNS)
        .into_boxed();
    if let Some(after) = page.after_one() {
        q = q.filter(at::id.gt(after.to_owned()));
    }
    let rows: Vec<TokenRow> = q.order(at::id.asc()).limit(page.fetch()).load(conn)?;
    Ok(page.page(rows, |r| vec![r.0.clone()], to_token))
}

/// Revokes one of the caller's tokens (others' answer 404).
pub fn revoke_token(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let owner: Option<(String, Option<NaiveDateTime>)> = at::table
        .filter(at::id.eq(id))
        .select((at::user_id, at::revoked_at))
        .first(conn)
        .optional()?;
    match owner {
        Some((owner, revoked)) if owner == caller.user_id => {
            if revoked.is_none() {
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
