//! `Idempotency-Key` on `POST`: a retry with the same key and body gets the stored response and
//! creates nothing twice; the same key with another body answers 422; a key still being processed
//! answers 409. Keys belong to the caller (a user, or an API token) and expire after 24 hours.
//!
//! A request's key passes through three transactions, and each may fail on its own:
//! 1. the **claim** (before the handler runs; insert-first, so a concurrent retry finds it and
//!    answers 409 `idempotency-key-in-use`) writes a fresh claim id and hands the handler an
//!    [`IdempotencyClaim`] in the request's extensions;
//! 2. the handler's **write** (`auth::Auth::write`) marks the claim committed
//!    ([`IdempotencyClaim::mark_committed`]) inside its own transaction, just before it commits,
//!    provided the claim id is still the one it was given. So the key's row says whether the work
//!    was done, whatever becomes of the answer;
//! 3. the **response** is stored on the row of that claim id, or, after a server error, a 401 or
//!    a 429, the claim is released ([`release`], only while nothing committed) so the client may
//!    retry afresh.
//!
//! A row left without a response (the process died, or the database went away and took the
//! release or the store with it) is judged by whether the work committed:
//! - not committed: the work never happened, so a retry takes the claim over after
//!   [`TAKEOVER`] (a minute). That is safe even while the first handler still runs: its
//!   transaction finds the claim id changed, answers 409 and rolls back;
//! - committed: the request is never run again. For [`ABANDONED`] (five minutes after the commit)
//!   a retry answers 409 `idempotency-key-in-use`, as the first request may still be storing its
//!   answer; after that 409 `idempotency-response-lost`: the work was done, read the resource.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
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
/// How long after its handler's work committed a key without a stored response answers 409
/// `idempotency-key-in-use` (the first request may still be storing its answer) before it answers
/// 409 `idempotency-response-lost`. Such a key is never run again.
pub const ABANDONED: TimeDelta = TimeDelta::minutes(5);
/// How long a claim whose handler has not committed holds its key before a retry takes it over.
/// Taking over is safe however soon, because the claim id changes: the old handler, should it
/// still be running, marks its claim committed in its own transaction before committing, finds
/// the claim id gone, and rolls back with 409, so only one of them ever writes. The minute lets a
/// merely slow handler finish first, and frees quickly a key whose release failed (the database
/// went away after the claim, so the handler answered 503 and the release could not be written).
pub const TAKEOVER: TimeDelta = TimeDelta::seconds(60);
/// Response headers worth replaying.
const STORED_HEADERS: [HeaderName; 3] = [header::LOCATION, header::ETAG, header::CONTENT_TYPE];

/// The claim a request holds on its `Idempotency-Key` while its handler runs. The middleware puts
/// it in the request's extensions; `auth::Auth` carries it to the handler's write transaction,
/// which calls [`IdempotencyClaim::mark_committed`] before committing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub owner: String,
    pub key: String,
    /// Written by this claim (a UUID v7); a retry that takes the key over writes another.
    pub claim_id: String,
}

impl IdempotencyClaim {
    /// The claim a request holds, if any.
    pub fn of(req: &actix_web::HttpRequest) -> Option<Self> {
        req.extensions().get::<Self>().cloned()
    }

    /// Records, inside the handler's write transaction and before it commits, that the request's
    /// work is done, provided the request still holds its claim. When a retry has taken the key
    /// over (this request ran past [`TAKEOVER`] without committing), answers 409
    /// `idempotency-key-in-use`, so the transaction rolls back and nothing is written twice.
    pub fn mark_committed(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        let marked = diesel::update(self.row())
            .set(ik::committed_at.eq(crate::core::now()))
            .execute(conn)?;
        if marked == 0 {
            return Err(ApiError::conflict_of(
                crate::error::ProblemType::IdempotencyKeyInUse,
                "a retry with this Idempotency-Key took the request over; it is carried out once, by the retry",
            ));
        }
        Ok(())
    }

    /// Runs write work `f` in one transaction ([`Db::write`]) and, when the request holds a
    /// claim, marks it committed in that same transaction once `f` succeeded: the way every
    /// handler that writes on behalf of a keyed request writes (`auth::Auth::write` among them).
    pub async fn write<T, F>(claim: Option<Self>, db: &Db, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        db.write(move |conn| {
            let value = f(conn)?;
            if let Some(claim) = &claim {
                claim.mark_committed(conn)?;
            }
            Ok(value)
        })
        .await
    }

    /// The key's row, while it is this claim's.
    fn row(&self) -> ClaimRow<'_> {
        ik::table.filter(
            ik::owner
                .eq(self.owner.as_str())
                .and(ik::idem_key.eq(self.key.as_str()))
                .and(ik::claim_id.eq(self.claim_id.as_str())),
        )
    }
}

/// The query for a claim's row: its key's, with its claim id.
type ClaimRow<'a> = diesel::dsl::Filter<
    ik::table,
    diesel::dsl::And<
        diesel::dsl::And<
            diesel::dsl::Eq<ik::owner, &'a str>,
            diesel::dsl::Eq<ik::idem_key, &'a str>,
        >,
        diesel::dsl::Eq<ik::claim_id, &'a str>,
    >,
>;

enum Claim {
    /// The request has no working credential: no claim, no replay; the handler answers 401.
    Unowned,
    New(IdempotencyClaim),
    Replay {
        status: i32,
        headers: Vec<(String, String)>,
        body: String,
    },
    Mismatch,
    InProgress,
    /// The first request's work committed but its response was never stored.
    ResponseLost,
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
    committed_at: Option<chrono::NaiveDateTime>,
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
        committed_at: committed,
    }) = existing
    {
        if created >= now - KEEP {
            let same = stored_hash == hash;
            match (status, committed) {
                (Some(_), _) | (None, Some(_)) if !same => return Ok(Claim::Mismatch),
                (Some(status), _) => {
                    return Ok(Claim::Replay {
                        status,
                        headers: headers
                            .and_then(|h| serde_json::from_str(&h).ok())
                            .unwrap_or_default(),
                        body: body.unwrap_or_default(),
                    });
                }
                // The work was done: never again, whatever became of its answer.
                (None, Some(committed)) if committed < now - ABANDONED => {
                    return Ok(Claim::ResponseLost);
                }
                (None, Some(_)) => return Ok(Claim::InProgress),
                (None, None) if created >= now - TAKEOVER => {
                    return Ok(if same {
                        Claim::InProgress
                    } else {
                        Claim::Mismatch
                    });
                }
                // Held past TAKEOVER without committing: taken over below.
                (None, None) => {}
            }
        }
        // Only a row still expired or abandoned uncommitted is taken over: on PostgreSQL a handler
        // committing concurrently holds the row, and once it has, its row no longer matches (the
        // DELETE re-checks the condition), so the work is not run twice.
        let taken = diesel::delete(
            ik::table.filter(
                ik::owner.eq(owner).and(ik::idem_key.eq(key)).and(
                    ik::created_at.lt(now - KEEP).or(ik::status_code
                        .is_null()
                        .and(ik::committed_at.is_null())
                        .and(ik::created_at.lt(now - TAKEOVER))),
                ),
            ),
        )
        .execute(conn)?;
        if taken == 0 {
            return Ok(Claim::InProgress);
        }
    }
    let claim_id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(ik::table)
        .values((
            ik::owner.eq(owner),
            ik::idem_key.eq(key),
            ik::request_hash.eq(hash),
            ik::created_at.eq(now),
            ik::claim_id.eq(&claim_id),
        ))
        .execute(conn)?;
    Ok(Claim::New(IdempotencyClaim {
        owner: owner.to_owned(),
        key: key.to_owned(),
        claim_id,
    }))
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
    let claim = match claimed {
        // Two first attempts raced to insert the key: the loser sees the winner's claim.
        Err(ApiError::Conflict { .. }) => return Ok(req.into_response(in_use().error_response())),
        Err(e) => return Ok(req.into_response(e.error_response())),
        Ok(Claim::Mismatch) => {
            return Ok(req.into_response(ApiError::IdempotencyKeyReused.error_response()));
        }
        Ok(Claim::InProgress) => return Ok(req.into_response(in_use().error_response())),
        Ok(Claim::ResponseLost) => {
            let e = ApiError::conflict_of(
                crate::error::ProblemType::IdempotencyResponseLost,
                "the request with this Idempotency-Key was carried out, but its response was not kept; read the resource rather than retry",
            );
            return Ok(req.into_response(e.error_response()));
        }
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
        Ok(Claim::New(claim)) => claim,
    };

    req.set_payload(actix_web::dev::Payload::from(body));
    req.extensions_mut().insert(claim.clone());
    let res = next.call(req).await;
    let res = match res {
        Ok(r) => r.map_into_boxed_body(),
        Err(e) => {
            release_claim(&db, claim).await;
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
        release_claim(&db, claim).await;
        return Ok(res);
    }
    let (http_req, response) = res.into_parts();
    let (response, body) = response.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            release_claim(&db, claim).await;
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
        db.write(move |conn| {
            // Only on this claim's row: a retry that took the key over has a row of its own.
            diesel::update(claim.row())
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

async fn release_claim(db: &Db, claim: IdempotencyClaim) {
    if let Err(e) = db.write(move |conn| release(conn, &claim)).await {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// Gives a claim's key back, so that a retry runs afresh: only while the claim is the request's
/// and its work did not commit (a server error after the commit keeps the key, so the retry is
/// not run again). True when the key was released.
pub fn release(conn: &mut DbConn, claim: &IdempotencyClaim) -> Result<bool, ApiError> {
    Ok(diesel::delete(claim.row().filter(ik::committed_at.is_null())).execute(conn)? > 0)
}
