//! `/api/v1/invitations`.

use actix_web::http::header;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::{AcceptInvitation, CreateInvitation, Invitation, InvitationStatus};
use super::repo::{self, InvitationFilter};
use crate::auth::{Auth, Role, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::client_ip::client_ip;
use crate::http::{Json, Page, PageRequest, Query};
use crate::notifications::Mailer;
use crate::state::AppState;
use crate::users::model::User;

/// Invite a person
///
/// Admins only. Sends an e-mail (in the invitation's language) with a one-time link valid for
/// seven days. Inviting an address that has a pending invitation replaces it: the old link stops
/// working.
#[utoipa::path(
    tag = "invitations",
    request_body = CreateInvitation,
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 201, description = "Invited; the e-mail is queued", body = Invitation,
            headers(("Location" = String, description = "The invitations list"))),
        (status = 409, description = "An account with this e-mail exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations")]
pub async fn create_invitation(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    body: Json<CreateInvitation>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let mailer = mailer.clone();
    let invitation = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersWrite)?;
            repo::invite(conn, caller, &mailer, req)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!(
                "/api/v1/invitations?email={}",
                form_urlencoded::byte_serialize(invitation.email.as_bytes()).collect::<String>()
            ),
        ))
        .json(invitation))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvitationQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub status: Option<InvitationStatus>,
    pub email: Option<String>,
}

/// List invitations
///
/// Admins only, newest first.
#[utoipa::path(
    tag = "invitations",
    params(InvitationQuery),
    security(("bearer" = []), ("api_token" = [Scope::UsersRead])),
    responses((status = 200, description = "A page of invitations", body = Page<Invitation>))
)]
#[get("/invitations")]
pub async fn list_invitations(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<InvitationQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new("invitations", q.limit, q.cursor.as_deref(), 1)?;
    let filter = InvitationFilter {
        status: q.status,
        email: q.email,
    };
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersRead)?;
            repo::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Revoke an invitation
///
/// Admins only. Its link stops working at once.
#[utoipa::path(
    tag = "invitations",
    params(("id" = uuid::Uuid, Path, description = "Invitation id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 200, description = "Revoked (also when it already was)", body = Invitation),
        (status = 404, description = "No such invitation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations/{id}/revoke")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let invitation = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersWrite)?;
            repo::revoke(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(invitation))
}

/// What an invitation link offers, for the page that accepts it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "email": "kari.nordmann@roche.com",
    "display_name": "Kari Nordmann",
    "role": "partner_representative",
    "organisation_name": "Roche Norge AS",
    "expires_at": "2026-12-07T10:00:00Z"
}))]
pub struct InvitationPreview {
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub organisation_name: Option<String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn link_problem(state: &AppState, req: &HttpRequest, e: ApiError) -> ApiError {
    state
        .address_throttle
        .count_bad_link(client_ip(req, state.settings.trusted_proxy_hops), e)
}

fn check_address(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    state
        .address_throttle
        .check(client_ip(req, state.settings.trusted_proxy_hops))
}

/// Look at an invitation
///
/// No authentication: the token from the e-mail is the credential. Unknown, used, revoked and
/// expired links all answer 404; an address that tries many bad links must wait (429).
#[utoipa::path(
    tag = "invitations",
    params(("token" = String, Path, description = "The token from the invitation link")),
    responses(
        (status = 200, description = "The invitation", body = InvitationPreview),
        (status = 404, description = "Unknown, used, revoked or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/invitations/{token}")]
pub async fn preview_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_address(&state, &req)?;
    let token = token.into_inner();
    let preview = state
        .db
        .read(move |conn| {
            let inv = repo::open_by_token(conn, &token)?;
            let organisation_name = match &inv.organisation_id {
                Some(id) => Some(crate::organisations::repo::find(conn, id)?.name),
                None => None,
            };
            Ok(InvitationPreview {
                email: inv.email,
                display_name: inv.display_name,
                role: inv.role,
                organisation_name,
                expires_at: inv.expires_at,
            })
        })
        .await
        .map_err(|e| link_problem(&state, &req, e))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(preview))
}

/// Accept an invitation
///
/// No authentication: the token from the e-mail is the credential. Creates the account with
/// the invited role and organisation, and the name and password chosen here. Works once.
#[utoipa::path(
    tag = "invitations",
    params(("token" = String, Path, description = "The token from the invitation link")),
    request_body = AcceptInvitation,
    responses(
        (status = 201, description = "The new account; log in with it", body = User,
            headers(("Location" = String, description = "The new account"))),
        (status = 404, description = "Unknown, used, revoked or expired link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Name or password breaks the rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/invitations/{token}/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: Json<AcceptInvitation>,
) -> Result<HttpResponse, ApiError> {
    check_address(&state, &req)?;
    let token = token.into_inner();
    let AcceptInvitation {
        display_name,
        password,
    } = body.into_inner();
    let t = token.clone();
    let invitation = state
        .db
        .read(move |conn| repo::open_by_token(conn, &t))
        .await
        .map_err(|e| link_problem(&state, &req, e))?;
    repo::check_acceptance(&invitation, &display_name, &password)?;
    let hash = state.hasher.hash(password.clone()).await?;
    let user = state
        .db
        .write(move |conn| repo::accept(conn, &token, display_name.trim(), &password, &hash))
        .await
        .map_err(|e| link_problem(&state, &req, e))?;
    Ok(HttpResponse::Created()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .json(user))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_invitation)
        .service(list_invitations)
        .service(revoke_invitation)
        .service(preview_invitation)
        .service(accept_invitation);
}
