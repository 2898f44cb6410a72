//! `/api/v1/events` (public: the upcoming open events and registering for one),
//! `/api/v1/event-registrations/cancel` (public: the e-mailed cancel link) and
//! `/api/v1/meetings/{id}/registrations` (the secretariat: registrants, CSV, cancelling).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CancelByToken, PublicEvent, Register, Registrant, Registration, RegistrationByLink,
    RegistrationStatus,
};
use super::repo;
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::client_ip::client_ip;
use crate::http::csv::{csv_response, csv_time, wants_csv};
use crate::http::idempotency::IdempotencyClaim;
use crate::http::{Json, Page, PageRequest, Query};
use crate::notifications::Mailer;
use crate::notifications::links::{Access, through_link};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List upcoming open events
///
/// Public, no account needed: the consortium's scheduled open events that have not ended, by
/// start, with the places left and the length of the waiting list.
#[utoipa::path(
    tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of open events", body = Page<PublicEvent>),
        (status = 400, description = "A cursor this list did not give out", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    query: Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::new("events", query.limit, query.cursor.as_deref(), 2)?;
    let page = state
        .db
        .read(move |conn| repo::list_public(conn, &page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get an open event
///
/// Public, no account needed. A past or cancelled event is shown too (its `status` says so); a
/// body's meeting is not an event (404).
#[utoipa::path(
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "Event (meeting) id")),
    responses(
        (status = 200, description = "The event", body = PublicEvent),
        (status = 404, description = "No such open event", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events/{id}")]
pub async fn get_event(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let event = state
        .db
        .read(move |conn| repo::get_public(conn, &id))
        .await?;
    Ok(HttpResponse::Ok().json(event))
}

/// Register for an open event
///
/// Public, no account needed. `confirmed` while places last, else `waitlisted` with the
/// `position` on the waiting list (which has no limit). An `event_registration` e-mail confirms
/// it, with a signed link to cancel. The same e-mail address twice for one event answers 409
/// `already-registered`; a past or cancelled event 409 `registration-closed`. Each client
/// address may register a limited number of times in a quarter of an hour (429).
#[utoipa::path(
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "Event (meeting) id")),
    request_body = Register,
    responses(
        (status = 201, description = "Registered: confirmed or waitlisted", body = Registration, headers(("Location" = String, description = "The event registered for (a registration has no public URL: its cancel link is e-mailed)"))),
        (status = 404, description = "No such open event", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered with this address, or the event is past or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or too long name, or an invalid e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/events/{id}/registrations")]
pub async fn register(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Json<Register>,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, state.settings.trusted_proxy_hops);
    state.registration_throttle.check(ip)?;
    if let Some(ip) = ip {
        state.registration_throttle.fail(ip);
    }
    let event = Id::from(id.into_inner());
    let body = body.into_inner();
    let mailer = mailer.clone();
    // Anonymous as a rule; a caller who sends a working credential and an Idempotency-Key holds
    // a claim, marked committed with the registration.
    let claim = IdempotencyClaim::of(&req);
    let registration = IdempotencyClaim::write(claim, &state.db, move |conn| {
        repo::register(conn, &mailer, &event, Id::new(), body)
    })
    .await?;
    state.wake_mailer();
    Ok(HttpResponse::Created()
        .insert_header(header::CacheControl(vec![header::CacheDirective::NoStore]))
        .insert_header((
            header::LOCATION,
            format!("/api/v1/events/{}", registration.event_id),
        ))
        .json(registration))
}

/// Read what a cancel link is for
///
/// Public: the signed `token` from the e-mailed cancel link is the credential. The registration
/// (with its place on the waiting list) and its event, so the page the link opens can say what
/// would be cancelled. A forged, expired or unknown token answers 404 (and counts against the
/// address, 429).
#[utoipa::path(
    tag = "events",
    params(("token" = String, Path, description = "The `token` of the cancel link")),
    responses(
        (status = 200, description = "The registration and its event", body = RegistrationByLink),
        (status = 404, description = "A forged, expired or unknown link", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/event-registrations/cancel/{token}")]
pub async fn get_by_token(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    through_link(&state, &mailer, &req, Access::Read, move |conn, mailer| {
        repo::get_by_token(conn, mailer, &token)
    })
    .await
}

/// Cancel a registration with the e-mailed link
///
/// Public: the signed `token` from the cancel link is the credential. A confirmed registration
/// frees its place, which the first on the waiting list gets at once (with an e-mail). A
/// forged, expired or unknown token answers 404 (and counts against the address, 429); an
/// already cancelled registration 409.
#[utoipa::path(
    tag = "events",
    request_body = CancelByToken,
    responses(
        (status = 200, description = "Cancelled", body = Registration),
        (status = 404, description = "A forged, expired or unknown link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/event-registrations/cancel")]
pub async fn cancel_by_token(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    body: Json<CancelByToken>,
) -> Result<HttpResponse, ApiError> {
    let token = body.into_inner().token;
    through_link(&state, &mailer, &req, Access::Write, move |conn, mailer| {
        repo::cancel_by_token(conn, mailer, &token)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistrationsQuery {
    /// Page size, 1 to 200 (default 50); a CSV export holds them all.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub status: Option<RegistrationStatus>,
}

/// List an open event's registrations
///
/// The secretariat only: names and e-mail addresses are personal data (members who see the
/// event get 403). Oldest first, with each waitlisted one's position. `Accept: text/csv`
/// exports them all as CSV.
#[utoipa::path(
    tag = "events",
    params(("id" = uuid::Uuid, Path, description = "Event (meeting) id"), RegistrationsQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of registrations, or with `Accept: text/csv` all of them as CSV", content((Page<Registrant> = "application/json"), (String = "text/csv"))),
        (status = 403, description = "Only the secretariat sees registrants", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such open event, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/registrations")]
pub async fn list_registrations(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: Query<RegistrationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let csv = wants_csv(&req);
    let status = query.status;
    let page = PageRequest::new("registrations", query.limit, query.cursor.as_deref(), 2)?;
    let listed = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::list_registrations(conn, caller, &id, status, (!csv).then_some(&page))
        })
        .await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(listed));
    }
    csv_response(
        "registrations",
        &[
            "id",
            "name",
            "email",
            "organisation",
            "language",
            "status",
            "position",
            "created_at",
            "cancelled_at",
        ],
        listed.items.into_iter().map(|r| {
            vec![
                r.id.to_string(),
                r.name,
                r.email,
                r.organisation.unwrap_or_default(),
                r.language.to_string(),
                r.status.to_string(),
                r.position.map(|p| p.to_string()).unwrap_or_default(),
                csv_time(&r.created_at),
                r.cancelled_at.as_ref().map(csv_time).unwrap_or_default(),
            ]
        }),
    )
}

/// Cancel a registration for its registrant
///
/// The secretariat. As the registrant's own cancellation: a confirmed one frees its place for
/// the first on the waiting list; both get an e-mail.
#[utoipa::path(
    tag = "events",
    params(
        ("id" = uuid::Uuid, Path, description = "Event (meeting) id"),
        ("registration_id" = uuid::Uuid, Path, description = "Registration id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Cancelled", body = Registrant),
        (status = 403, description = "Only the secretariat cancels for a registrant", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registration of this event, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/registrations/{registration_id}/cancel")]
pub async fn cancel_registration(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, rid) = path.into_inner();
    let (id, rid) = (Id::from(id), Id::from(rid));
    let mailer = mailer.clone();
    let done = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::cancel_by_admin(conn, caller, &mailer, &id, &rid)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Ok().json(done))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events)
        .service(get_event)
        .service(register)
        .service(get_by_token)
        .service(cancel_by_token)
        .service(list_registrations)
        .service(cancel_registration);
}
