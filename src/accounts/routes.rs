//! `auth/login`, `auth/refresh`, `auth/logout`, `me`, `me/password`.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::model::{
    ChangePasswordRequest, LoginRequest, PasswordResetConfirm, PasswordResetRequest,
    RefreshRequest, TokenPair,
};
use crate::audit;
use crate::auth::repo::{self, Rotation};
use crate::auth::throttle;
use crate::auth::{Auth, Caller, password};
use crate::core::Actor;
use crate::error::{ApiError, Problem};
use crate::http::Json;
use crate::http::client_ip::client_ip;
use crate::http::idempotency::IdempotencyClaim;
use crate::notifications::Mailer;
use crate::state::AppState;
use crate::users::model::Me;
use crate::validation::{Validator, normalise_email};

fn pair(
    state: &AppState,
    user_id: &str,
    family: &str,
    refresh_token: String,
) -> Result<TokenPair, ApiError> {
    Ok(TokenPair {
        access_token: state.jwt.issue(user_id, family)?,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs,
        refresh_token,
        refresh_expires_in: state.settings.refresh_token_ttl_secs,
    })
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthenticated("the e-mail address or password is wrong".into())
}

/// Log in
///
/// Exchanges e-mail and password for an access token (15 minutes) and a refresh token. Unknown
/// addresses and wrong passwords get the same answer in the same time. After 5 failures in 15
/// minutes an account is locked for 15 minutes, and an address that fails 30 times waits too: both
/// answer 429 with `Retry-After`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { email, password } = body.into_inner();
    let email = normalise_email(&email);
    let ip = client_ip(&req, state.settings.trusted_proxy_hops);
    state.address_throttle.check(ip)?;
    let account = email.clone();
    let (locked, creds) = state
        .db
        .read(move |conn| {
            Ok((
                throttle::account_locked(conn, &account, ip)?,
                repo::credentials_by_email(conn, &account)?,
            ))
        })
        .await?;
    if let Some(wait) = locked {
        return Err(throttle::too_many(wait));
    }
    let stored = creds
        .as_ref()
        .filter(|c| c.active)
        .map(|c| c.password_hash.clone());
    let ok = password.len() <= 1024 && state.hasher.verify(password, stored).await?;
    let ttl = state.settings.refresh_token_ttl_secs;
    let account = email.clone();
    match (ok, creds) {
        (true, Some(repo::Credentials { user_id, .. })) => {
            let uid = user_id.clone();
            let (family, new_refresh) = state
                .db
                .write(move |conn| {
                    throttle::clear_account(conn, &account)?;
                    repo::start_session(conn, &uid, ttl)
                })
                .await?;
            Ok(HttpResponse::Ok()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .json(pair(&state, &user_id, &family, new_refresh)?))
        }
        _ => {
            if let Some(ip) = ip {
                state.address_throttle.fail(ip);
            }
            let locked = state
                .db
                .write(move |conn| throttle::record_account_failure(conn, &account, ip))
                .await?;
            if locked.is_some() {
                tracing::warn!("an account was locked after repeated failed logins");
            }
            Err(bad_credentials())
        }
    }
}

/// Refresh the access token
///
/// Exchanges a refresh token for a new pair. Each refresh token works once: presenting one that was
/// already used revokes the whole session (every token descended from the same login) and answers 401.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenPair),
        (status = 401, description = "Unknown, expired, reused or revoked refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().refresh_token;
    let ttl = state.settings.refresh_token_ttl_secs;
    match state
        .db
        .write(move |conn| repo::rotate(conn, &token, ttl))
        .await?
    {
        Rotation::Rotated {
            user_id,
            family_id,
            token,
        } => Ok(HttpResponse::Ok()
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .json(pair(&state, &user_id, &family_id, token)?)),
        Rotation::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its session was revoked");
            Err(ApiError::Unauthenticated(
                "this refresh token was already used; the session has been ended for safety, log in again".into(),
            ))
        }
        Rotation::Invalid => Err(ApiError::Unauthenticated(
            "the refresh token is invalid or has expired".into(),
        )),
    }
}

/// Log out
///
/// Ends the session the refresh token belongs to: it and its access tokens stop working at once.
/// Answers 204 also for unknown tokens.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Logged out"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().refresh_token;
    state
        .db
        .write(move |conn| repo::logout(conn, &token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who am I
///
/// The caller's account, organisation and what their organisation's standing allows.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("api_token" = [])),
    responses((status = 200, description = "The caller", body = Me))
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let who = auth
        .read(&state.db, move |conn, caller| {
            crate::users::repo::me(conn, caller)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(who))
}

/// Change my password
///
/// Needs the current password. Ends every other session of the account (this one continues),
/// revokes every API token of the account (create new ones if you need them) and voids every
/// password-reset link sent before. Wrong current passwords count towards the same lock as failed
/// logins: after 5 in 15 minutes the account answers 429 for 15 minutes.
#[utoipa::path(
    tag = "me",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "API tokens cannot change passwords", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password, or the new one breaks the rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords (the account's login lock, or the address's); see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    caller: Caller,
    claim: Option<web::ReqData<IdempotencyClaim>>,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(family) = caller.session_family().map(str::to_owned) else {
        return Err(ApiError::forbidden(
            "log in to change your password; API tokens cannot",
        ));
    };
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let mut v = Validator::new();
    password::check_password_rules(&mut v, "new_password", &new_password, Some(&caller.email));
    v.finish()?;
    // Guessing the current password is throttled like a login: per address, and per account
    // (the same lock, so a session cannot be used to brute-force the password).
    let ip = client_ip(&req, state.settings.trusted_proxy_hops);
    state.address_throttle.check(ip)?;
    let (uid, account) = (caller.user_id.clone(), caller.email.clone());
    let (locked, stored) = state
        .db
        .read(move |conn| {
            Ok((
                throttle::account_locked(conn, &account, ip)?,
                repo::password_hash_of(conn, &uid)?,
            ))
        })
        .await?;
    if let Some(wait) = locked {
        return Err(throttle::too_many(wait));
    }
    if !state.hasher.verify(current_password, Some(stored)).await? {
        if let Some(ip) = ip {
            state.address_throttle.fail(ip);
        }
        let account = caller.email.clone();
        let locked = state
            .db
            .write(move |conn| throttle::record_account_failure(conn, &account, ip))
            .await?;
        if locked.is_some() {
            tracing::warn!("an account was locked after repeated wrong current passwords");
        }
        return Err(ApiError::invalid(
            "current_password",
            "incorrect",
            "is not your current password",
        ));
    }
    let hash = state.hasher.hash(new_password).await?;
    let actor: Actor = caller.actor();
    let uid = caller.user_id.clone();
    let account = caller.email.clone();
    let mailer = mailer.clone();
    let claim = claim.map(web::ReqData::into_inner);
    IdempotencyClaim::write(claim, &state.db, move |conn| {
        repo::set_password(conn, &uid, &hash)?;
        throttle::clear_account(conn, &account)?;
        let ended = repo::end_credentials(conn, &uid, Some(&family))?;
        super::repo::notify_password_changed(conn, &mailer, &uid)?;
        audit::record(
            conn,
            &actor,
            "user.password_changed",
            "user",
            &uid,
            ended.audit(true),
        )
    })
    .await?;
    state.wake_mailer();
    Ok(HttpResponse::NoContent().finish())
}

/// Ask for a password reset
///
/// Always answers 202, at once, whether or not an account has the address: if one does, an
/// e-mail with a one-time link (valid one hour) is queued. At most three messages per account per
/// hour; an address that asks too often gets 429.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted; if the address has an account, a message is on its way"),
        (status = 429, description = "Too many requests from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
#[post("/auth/password-reset")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, state.settings.trusted_proxy_hops);
    state.reset_throttle.check(ip)?;
    if let Some(ip) = ip {
        state.reset_throttle.fail(ip);
    }
    let email = normalise_email(&body.into_inner().email);
    // The work happens after the answer, so the answer takes the same time either way.
    let worker = state.clone();
    let mailer = mailer.clone();
    tokio::spawn(async move {
        match worker
            .db
            .write(move |conn| super::reset::request(conn, &mailer, &email))
            .await
        {
            Ok(true) => worker.wake_mailer(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "password reset request failed"),
        }
    });
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with a reset link
///
/// The token from the e-mail works once, for an hour. Every session and every API token of the
/// account ends, and so do its other reset links; the owner is told by e-mail.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "The password is set; log in with it"),
        (status = 404, description = "Unknown, used or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password breaks the rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    body: Json<PasswordResetConfirm>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, state.settings.trusted_proxy_hops);
    state.address_throttle.check(ip)?;
    let PasswordResetConfirm {
        token,
        new_password,
    } = body.into_inner();
    let bad_link = |e: ApiError| state.address_throttle.count_bad_link(ip, e);
    let t = token.clone();
    let email = state
        .db
        .read(move |conn| super::reset::open_token(conn, &t))
        .await
        .map_err(bad_link)?
        .email;
    let mut v = Validator::new();
    password::check_password_rules(&mut v, "new_password", &new_password, Some(&email));
    v.finish()?;
    let hash = state.hasher.hash(new_password).await?;
    let mailer = mailer.clone();
    state
        .db
        .write(move |conn| super::reset::confirm(conn, &mailer, &token, &hash))
        .await
        .map_err(bad_link)?;
    state.wake_mailer();
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(login)
        .service(request_password_reset)
        .service(confirm_password_reset)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(change_password);
}
