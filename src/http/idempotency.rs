//! `Idempotency-Key` on `POST`: a retry with the same key and body gets the stored response and
//! creates nothing twice; the same key with another body answers 422; a key still being processed
//! answers 409. Keys belong to the caller (a user, or an API token) and expire after 24 hours.
//!
//! The key is claimed in its own transaction before the handler runs (insert-first, so a
//! concurrent retry finds the claim and answers 409), and the response is stored after it. A
//! server error, a 401 or a 429 releases the claim so the client may retry afresh. A claim left by
//! a crashed process is taken over after five minutes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};
use chrono::TimeDelta;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::idempotency_keys as ik;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const KEEP: TimeDelta = TimeDelta::hours(24);
const ABANDONED: TimeDelta = TimeDelta::minutes(5);
/// Response headers worth replaying.
const STORED_HEADERS: [HeaderName; 3] = [header::LOCATION, header::ETAG, header::CONTENT_TYPE];

enum Claim {
    /// The request has no working credential: no claim, no replay; the handler answers 401.
    Unowned,
    New(String),
    Replay {
        status: i32,
        headers: Vec<(String, String)>,
        body: String,
    },
    Mismatch,
    InProgress,
}

/// A key as stored: the request it was first used for and, once answered, the response.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ik)]
struct StoredKey {
    request_hash: String,
    status_code: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<String>,
    created_at: chrono::NaiveDateTime,
}

fn claim(
    conn: &mut DbConn,
    owner_of: OwnerLookup,
    key: &str,
    hash: &str,
) -> Result<Claim, ApiError> {
    let Some(owner) = owner_of(conn)? else {
        return Ok(Claim::Unowned);
    };
    let owner = owner.as_str();
    let now = crate::core::now();
    let existing: Option<StoredKey> = ik::table
        .filter(ik::owner.eq(owner).and(ik::idem_key.eq(key)))
        .select(StoredKey::as_select())
        .first(conn)
        .optional()?;
    if let Some(StoredKey {
        request_hash: stored_hash,
        status_code: status,
        response_headers: headers,
        response_body: body,
        created_at: created,
    }) = existing
    {
        let expired = created < now - KEEP;
        let abandoned = status.is_none() && created < now - ABANDONED;
        if !expired && !abandoned {
            if stored_hash != hash {
                return Ok(Claim::Mismatch);
            }
            return Ok(match status {
                None => Claim::InProgress,
                Some(status) => Claim::Replay {
                    status,
                    headers: headers
                        .and_then(|h| serde_json::from_str(&h).ok())
                        .unwrap_or_default(),
                    body: body.unwrap_or_default(),
                },
            });
        }
        diesel::delete(ik::table.filter(ik::owner.eq(owner).and(ik::idem_key.eq(key))))
            .execute(conn)?;
    }
    diesel::insert_into(ik::table)
        .values((
            ik::owner.eq(owner),
            ik::idem_key.eq(key),
            ik::request_hash.eq(hash),
            ik::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(Claim::New(owner.to_owned()))
}

/// Deletes keys older than 24 hours; run periodically.
pub fn purge_expired(conn: &mut DbConn) -> Result<usize, ApiError> {
    let cutoff = crate::core::now() - KEEP;
    Ok(diesel::delete(ik::table.filter(ik::created_at.lt(cutoff))).execute(conn)?)
}

fn replay(status: i32, headers: Vec<(String, String)>, body: String) -> HttpResponse {
    let mut builder =
        HttpResponse::build(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK));
    for (name, value) in headers {
        builder.insert_header((name, value));
    }
    builder.insert_header((IDEMPOTENT_REPLAYED, "true"));
    builder.body(body)
}

/// Finds, inside the claim's database hop, who a key belongs to: the authenticated principal, or
/// `None` when the credential no longer works (a logged-out session, a revoked token, a
/// deactivated account).
pub type OwnerLookup =
    Box<dyn FnOnce(&mut DbConn) -> Result<Option<String>, ApiError> + Send + 'static>;

/// Gives a request's [`OwnerLookup`], or `None` when it carries no credential that could work. The
/// authentication layer provides it and `startup` registers it as app data, so this middleware
/// needs no knowledge of callers.
#[derive(Clone, Copy)]
pub struct IdempotencyOwner(pub fn(&actix_web::HttpRequest) -> Option<OwnerLookup>);

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let key = match req.headers().get(&IDEMPOTENCY_KEY) {
        Some(k) if req.method() == Method::POST => k.clone(),
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_owned(),
        _ => {
            let e = ApiError::bad_request(
                crate::error::ProblemType::InvalidParameter,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            );
            return Ok(req.into_response(e.error_response()));
        }
    };
    let (Some(db), Some(owner_of)) = (
        req.app_data::<web::Data<Db>>().cloned(),
        req.app_data::<web::Data<IdempotencyOwner>>()
            .map(|d| *d.get_ref()),
    ) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // Keys belong to the authenticated caller, checked as the handler will check it (in the
    // claim's own hop): a request without a working credential (none, a logged-out session, a
    // revoked token, a deactivated account) gets no claim and no replay, and the handler answers
    // 401.
    let Some(owner_of) = (owner_of.0)(req.request()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    let (http_req, payload) = req.parts_mut();
    let body = match crate::http::json::read_body(http_req, payload).await {
        Ok(b) => b,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b"\n");
    hasher.update(req.uri().to_string());
    hasher.update(b"\n");
    hasher.update(&body);
    let hash = format!("{:x}", hasher.finalize());

    let claimed = {
        let (key, hash) = (key.clone(), hash);
        db.write(move |conn| claim(conn, owner_of, &key, &hash))
            .await
    };
    let in_use = || ApiError::Conflict {
        kind: crate::error::ProblemType::IdempotencyKeyInUse,
        detail: "a request with this Idempotency-Key is still being processed; retry shortly"
            .into(),
    };
    let owner = match claimed {
        // Two first attempts raced to insert the key: the loser sees the winner's claim.
        Err(ApiError::Conflict { .. }) => return Ok(req.into_response(in_use().error_response())),
        Err(e) => return Ok(req.into_response(e.error_response())),
        Ok(Claim::Mismatch) => {
            return Ok(req.into_response(ApiError::IdempotencyKeyReused.error_response()));
        }
        Ok(Claim::InProgress) => return Ok(req.into_response(in_use().error_response())),
        Ok(Claim::Replay {
            status,
            headers,
            body,
        }) => {
            return Ok(req.into_response(replay(status, headers, body)));
        }
        Ok(Claim::Unowned) => {
            req.set_payload(actix_web::dev::Payload::from(body));
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body);
        }
        Ok(Claim::New(owner)) => owner,
    };

    req.set_payload(actix_web::dev::Payload::from(body));
    let res = next.call(req).await;
    let res = match res {
        Ok(r) => r.map_into_boxed_body(),
        Err(e) => {
            release(&db, owner, key).await;
            return Err(e);
        }
    };
    let status = res.status();
    // Answers given before the request was really processed are not kept: a retry after logging
    // in again, after waiting out a rate limit, or after a server error runs afresh.
    if status.is_server_error()
        || status == StatusCode::UNAUTHORIZED
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        release(&db, owner, key).await;
        return Ok(res);
    }
    let (http_req, response) = res.into_parts();
    let (response, body) = response.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            release(&db, owner, key).await;
            return Ok(ServiceResponse::new(
                http_req,
                ApiError::internal("response body unreadable").error_response(),
            ));
        }
    };
    let headers: Vec<(String, String)> = STORED_HEADERS
        .iter()
        .filter_map(|n| {
            Some((
                n.to_string(),
                response.headers().get(n)?.to_str().ok()?.to_owned(),
            ))
        })
        .collect();
    // A response that must not be stored (an API token's secret) is not kept: a replay answers
    // 409 instead, so nothing is created twice and no secret sits in the table.
    let no_store = response
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store"));
    let (status_kept, headers, text) = if no_store {
        let problem = ApiError::conflict(
            "a request with this Idempotency-Key already succeeded; its response held a secret that is shown only once",
        )
        .to_problem();
        (
            StatusCode::CONFLICT,
            vec![(
                header::CONTENT_TYPE.to_string(),
                crate::error::PROBLEM_JSON.to_owned(),
            )],
            serde_json::to_string(&problem).unwrap_or_default(),
        )
    } else {
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    };
    let stored = {
        let headers = serde_json::to_string(&headers).unwrap_or_default();
        let (owner, key, text) = (owner.clone(), key.clone(), text);
        db.write(move |conn| {
            diesel::update(ik::table.filter(ik::owner.eq(owner).and(ik::idem_key.eq(key))))
                .set((
                    ik::status_code.eq(i32::from(status_kept.as_u16())),
                    ik::response_headers.eq(headers),
                    ik::response_body.eq(text),
                ))
                .execute(conn)
                .map_err(ApiError::from)
        })
        .await
    };
    if let Err(e) = stored {
        tracing::warn!(error = %e, "could not store an idempotent response");
    }
    let response = response.set_body(BoxBody::new(bytes));
    let mut res = ServiceResponse::new(http_req, response);
    res.headers_mut()
        .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("false"));
    Ok(res)
}

async fn release(db: &Db, owner: String, key: String) {
    let _ = db
        .write(move |conn| {
            diesel::delete(ik::table.filter(ik::owner.eq(owner).and(ik::idem_key.eq(key))))
                .execute(conn)
                .map_err(ApiError::from)
        })
        .await;
}
