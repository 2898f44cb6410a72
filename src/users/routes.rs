//! `/api/v1/users` (admins) and `/api/v1/api-tokens` (each user their own).

use actix_web::http::StatusCode;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{ApiToken, CreateApiToken, CreateUser, CreatedApiToken, UpdateUser, User};
use super::repo::{self, UserFilter};
use super::service::{self, When};
use super::tokens;
use crate::auth::policy;
use crate::auth::{Auth, Caller, Role, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::idempotency::IdempotencyClaim;
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub role: Option<Role>,
    pub organisation_id: Option<Id>,
    pub active: Option<bool>,
    /// Text search in e-mail and display name.
    pub q: Option<String>,
}

/// List users
#[utoipa::path(
    tag = "users",
    params(UserQuery),
    security(("bearer" = []), ("api_token" = [Scope::UsersRead])),
    responses((status = 200, description = "A page of users, oldest first", body = Page<User>))
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new("users", q.limit, q.cursor.as_deref(), 1)?;
    let filter = UserFilter {
        role: q.role,
        organisation_id: q.organisation_id,
        active: q.active,
        q: q.q,
    };
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersRead)?;
            repo::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a user
///
/// Admins only. Representatives need an `organisation_id`; their rights follow its membership status.
#[utoipa::path(
    tag = "users",
    request_body = CreateUser,
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 201, description = "Created", body = User,
            headers(("Location" = String, description = "The new user"), ("ETag" = String, description = "Its version"))),
        (status = 409, description = "An account with this e-mail exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    claim: Option<web::ReqData<IdempotencyClaim>>,
    body: Json<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin(Scope::UsersWrite)?;
    let req = body.into_inner();
    let claim = claim.map(web::ReqData::into_inner);
    let user = service::create_user(
        &state.db,
        &state.hasher,
        caller.actor(),
        req,
        When::Always,
        claim,
    )
    .await?
    .ok_or_else(|| ApiError::internal("the account was not created"))?;
    Ok(created(
        format!("/api/v1/users/{}", user.id),
        user.version,
        &user,
    ))
}

/// Get a user
#[utoipa::path(
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "User id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersRead])),
    responses(
        (status = 200, description = "The user", body = User, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let user = auth
        .read(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersRead)?;
            repo::find(conn, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, user.version, &user))
}

/// Update a user
///
/// Change display name, role, organisation or linked person. The last active admin cannot be demoted.
#[utoipa::path(
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = UpdateUser,
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 200, description = "Updated", body = User, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last active admin cannot be demoted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let mailer = mailer.clone();
    let user = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersWrite)?;
            repo::update(conn, caller, &mailer, &id, &if_match, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, user.version, &user))
}

/// Deactivate a user
///
/// The account can no longer log in, and its sessions and API tokens stop working at once.
#[utoipa::path(
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "User id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 200, description = "Deactivated", body = User),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own account, or the last active admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/deactivate")]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    set_active(&state, auth, id.into_inner(), false).await
}

/// Deactivates or reactivates an account (admins).
async fn set_active(
    state: &AppState,
    auth: Auth,
    id: Uuid,
    active: bool,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id);
    let user = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersWrite)?;
            repo::set_active(conn, caller, &id, active)
        })
        .await?;
    Ok(versioned(StatusCode::OK, user.version, &user))
}

/// Reactivate a user
#[utoipa::path(
    tag = "users",
    params(("id" = uuid::Uuid, Path, description = "User id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 200, description = "Reactivated", body = User),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/users/{id}/reactivate")]
pub async fn reactivate_user(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    set_active(&state, auth, id.into_inner(), true).await
}

/// Create an API token
///
/// For machines acting as you. The secret is in the response only this once. Scopes must be
/// ones your role can use; the token never does more than you may. You are told by e-mail that a
/// token was created. Changing or resetting your password revokes every token of yours.
#[utoipa::path(
    tag = "api-tokens",
    request_body = CreateApiToken,
    security(("bearer" = [])),
    responses((status = 201, description = "Created; keep the secret", body = CreatedApiToken,
        headers(("Location" = String, description = "The token's listing"))))
)]
#[post("/api-tokens")]
pub async fn create_api_token(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    body: Json<CreateApiToken>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mailer = mailer.clone();
    let token = auth
        .write(&state.db, move |conn, caller| {
            policy::session_only(caller)?;
            tokens::create_token(conn, caller, &mailer, req)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Created()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((actix_web::http::header::LOCATION, "/api/v1/api-tokens"))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(token))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List my API tokens
#[utoipa::path(
    tag = "api-tokens",
    params(TokenQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Your tokens, oldest first (without secrets)", body = Page<ApiToken>))
)]
#[get("/api-tokens")]
pub async fn list_api_tokens(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new("api-tokens", query.limit, query.cursor.as_deref(), 1)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            policy::session_only(caller)?;
            tokens::list_tokens(conn, caller, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Revoke one of my API tokens
#[utoipa::path(
    tag = "api-tokens",
    params(("id" = uuid::Uuid, Path, description = "Token id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked (also when it already was)"),
        (status = 404, description = "No such token of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api-tokens/{id}")]
pub async fn revoke_api_token(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    auth.write(&state.db, move |conn, caller| {
        policy::session_only(caller)?;
        tokens::revoke_token(conn, caller, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_users)
        .service(create_user)
        .service(get_user)
        .service(update_user)
        .service(deactivate_user)
        .service(reactivate_user)
        .service(create_api_token)
        .service(list_api_tokens)
        .service(revoke_api_token);
}
