//! `/api/v1/bodies`, `/api/v1/people/{id}/bodies` and `/api/v1/me/bodies`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    Body, BodyKind, BodyRole, BodyStatus, CreateBody, CreateSeat, PersonSeats, Seat, UpdateBody,
    UpdateSeat,
};
use super::repo::{self, BodiesFilter, SeatsFilter};
use crate::auth::{Auth, Scope};
use crate::core::{Id, today};
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BodiesQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub kind: Option<BodyKind>,
    pub status: Option<BodyStatus>,
    /// Text search in name and short name (case-insensitive).
    pub q: Option<String>,
}

/// List bodies
///
/// Sorted by name, with each body's member count and the caller's roles in it. Every member of
/// the consortium (partners' and observers' representatives, admins) sees every body.
#[utoipa::path(
    tag = "bodies",
    params(BodiesQuery),
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "A page of bodies", body = Page<Body>),
        (status = 403, description = "Not a member of the consortium", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/bodies")]
pub async fn list_bodies(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<BodiesQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = BodiesFilter {
        kind: query.kind,
        status: query.status,
        q: query.q.clone(),
    };
    let page = PageRequest::new("bodies", query.limit, query.cursor.as_deref(), 2)?;
    let today = today();
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::list(conn, caller, &filter, &page, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a body
///
/// The secretariat (admins). The name is unique (case-insensitively); a body created dissolved
/// ends today unless `ended_on` is given.
#[utoipa::path(
    tag = "bodies",
    request_body = CreateBody,
    security(("bearer" = []), ("api_token" = [Scope::BodiesWrite])),
    responses(
        (status = 201, description = "Created", body = Body,
            headers(("Location" = String, description = "The new body"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only the secretariat creates bodies", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another body has this name", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/bodies")]
pub async fn create_body(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (id, at) = (Id::new(), crate::core::now().and_utc());
    let created_body = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesWrite)?;
            repo::create(conn, caller, body.into_record(id, at))
        })
        .await?;
    Ok(created(
        format!("/api/v1/bodies/{}", created_body.id),
        created_body.version,
        &created_body,
    ))
}

/// Get a body
///
/// With the number of seats in force today and the caller's roles in it.
#[utoipa::path(
    tag = "bodies",
    params(("id" = uuid::Uuid, Path, description = "Body id")),
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "The body", body = Body, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such body, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/bodies/{id}")]
pub async fn get_body(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let today = today();
    let found = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::get(conn, caller, &id, today)
        })
        .await?;
    Ok(versioned(StatusCode::OK, found.version, &found))
}

/// Update a body
///
/// The secretariat, with `If-Match`. Dissolving a body (`status: dissolved`) sets `ended_on` to
/// today unless given; a dissolved body takes no new seats.
#[utoipa::path(
    tag = "bodies",
    params(("id" = uuid::Uuid, Path, description = "Body id")),
    request_body = UpdateBody,
    security(("bearer" = []), ("api_token" = [Scope::BodiesWrite])),
    responses(
        (status = 200, description = "Updated", body = Body, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only the secretariat edits bodies", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such body, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another body has this name", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/bodies/{id}")]
pub async fn update_body(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let today = today();
    let updated = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesWrite)?;
            repo::update(conn, caller, &id, &if_match, patch, today)
        })
        .await?;
    Ok(versioned(StatusCode::OK, updated.version, &updated))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeatsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `true` (default): seats in force today; `false`: every seat, past and future too.
    pub current: Option<bool>,
    pub role: Option<BodyRole>,
    /// One person's seats.
    pub person_id: Option<Id>,
}

/// List a body's members
///
/// Seats by first day, each with whether it counts as a voting member today. The body's own
/// members and the secretariat see them; other members of the consortium get 403.
#[utoipa::path(
    tag = "bodies",
    params(("id" = uuid::Uuid, Path, description = "Body id"), SeatsQuery),
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "A page of seats", body = Page<Seat>),
        (status = 403, description = "Only the body's members see its members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such body, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/bodies/{id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: Query<SeatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let filter = SeatsFilter {
        current: query.current.unwrap_or(true),
        role: query.role,
        person_id: query.person_id.clone(),
    };
    let page = PageRequest::new(
        format!("bodies/{id}/members"),
        query.limit,
        query.cursor.as_deref(),
        2,
    )?;
    let today = today();
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::list_seats(conn, caller, &id, &filter, &page, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Add a member
///
/// The secretariat, or the body's chair, co-chair or secretary. The person must exist (and be
/// visible to you); a person of an observer organisation may only hold the observer role; a
/// person holds one seat in a body at a time (overlapping seats answer 409); a dissolved body
/// takes no new seats (409).
#[utoipa::path(
    tag = "bodies",
    params(("id" = uuid::Uuid, Path, description = "Body id")),
    request_body = CreateSeat,
    security(("bearer" = []), ("api_token" = [Scope::BodiesWrite])),
    responses(
        (status = 201, description = "Seated", body = Seat,
            headers(("Location" = String, description = "The new seat"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary manage its members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such body, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person already holds a seat on some of these days, or the body is dissolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such person, a role their organisation may not hold, or dates out of order", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/bodies/{id}/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateSeat>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let seat_id = Id::new();
    let today = today();
    let seat = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesWrite)?;
            repo::add_seat(conn, caller, &id, seat_id, req, today)
        })
        .await?;
    Ok(created(
        format!("/api/v1/bodies/{}/members/{}", seat.body_id, seat.id),
        seat.version,
        &seat,
    ))
}

/// Get a member's seat
#[utoipa::path(
    tag = "bodies",
    params(
        ("id" = uuid::Uuid, Path, description = "Body id"),
        ("member_id" = uuid::Uuid, Path, description = "Seat id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "The seat", body = Seat, headers(("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only the body's members see its members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such body or seat, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/bodies/{id}/members/{member_id}")]
pub async fn get_member(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, member_id) = path.into_inner();
    let (id, member_id) = (Id::from(id), Id::from(member_id));
    let today = today();
    let seat = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::get_seat(conn, caller, &id, &member_id, today)
        })
        .await?;
    Ok(versioned(StatusCode::OK, seat.version, &seat))
}

/// Change or end a seat
///
/// With `If-Match`: another role (checked against the organisation's status), or `to_date` to
/// end the seat (it is kept, with its last day). Seats are never deleted.
#[utoipa::path(
    tag = "bodies",
    params(
        ("id" = uuid::Uuid, Path, description = "Body id"),
        ("member_id" = uuid::Uuid, Path, description = "Seat id"),
    ),
    request_body = UpdateSeat,
    security(("bearer" = []), ("api_token" = [Scope::BodiesWrite])),
    responses(
        (status = 200, description = "Updated", body = Seat, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary manage its members", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such body or seat, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person holds another seat on some of these days", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/bodies/{id}/members/{member_id}")]
pub async fn update_member(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<UpdateSeat>,
) -> Result<HttpResponse, ApiError> {
    let (id, member_id) = path.into_inner();
    let (id, member_id) = (Id::from(id), Id::from(member_id));
    let patch = body.into_inner();
    let today = today();
    let seat = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesWrite)?;
            repo::update_seat(conn, caller, &id, &member_id, &if_match, patch, today)
        })
        .await?;
    Ok(versioned(StatusCode::OK, seat.version, &seat))
}

/// Where a person sits
///
/// Every seat the person holds or held, newest first, with the body and whether it is in force
/// today. For whoever may see the person (404 otherwise).
#[utoipa::path(
    tag = "bodies",
    params(("id" = uuid::Uuid, Path, description = "Person id")),
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "The person's seats", body = PersonSeats),
        (status = 404, description = "No such person, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/people/{id}/bodies")]
pub async fn person_bodies(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let today = today();
    let seats = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::person_seats(conn, caller, &id, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(seats))
}

/// Where I sit
///
/// The seats of the person your account is linked to, newest first (none when it is linked to
/// no person).
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("api_token" = [Scope::BodiesRead])),
    responses(
        (status = 200, description = "Your seats", body = PersonSeats),
    )
)]
#[get("/me/bodies")]
pub async fn my_bodies(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let today = today();
    let seats = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::BodiesRead)?;
            repo::my_seats(conn, caller, today)
        })
        .await?;
    Ok(HttpResponse::Ok().json(seats))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_bodies)
        .service(create_body)
        .service(get_body)
        .service(update_body)
        .service(list_members)
        .service(add_member)
        .service(get_member)
        .service(update_member)
        .service(person_bodies)
        .service(my_bodies);
}
