//! `/api/v1/meetings/{id}/occurrences`: a series' occurrences, one changed or cancelled alone;
//! and `/api/v1/meetings/free-slots`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::free_slots::{self, FreeSlots, FreeSlotsQuery};
use super::model::{CancelMeeting, Meeting, UpdateMeeting};
use super::series;
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, FieldError, Problem, ProblemType};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OccurrencesQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Occurrences ending after this instant (default: the series' first start).
    pub from: Option<DateTime<Utc>>,
    /// Occurrences starting before this instant (default: no end; at most 2000 are computed).
    pub to: Option<DateTime<Utc>>,
}

/// An occurrence's original start from the path (RFC 3339).
fn start_of(raw: &str) -> Result<NaiveDateTime, ApiError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            ApiError::bad_request(
                ProblemType::InvalidParameter,
                "the occurrence is named by its original start, RFC 3339 in UTC, e.g. 2027-03-09T13:00:00Z",
            )
        })
}

/// List a series' occurrences
///
/// By start: the occurrences computed from the rule (each with the master's `id`, `series_id`
/// the master and `occurrence_of` its start) and those changed alone (their own `id`), moved ones
/// at their new time, cancelled ones with status `cancelled`. At most 2000 are computed per
/// request; page on with `cursor`. Not a series: 404.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "The series' master"), OccurrencesQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of occurrences", body = Page<Meeting>),
        (status = 404, description = "No such series, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/occurrences")]
pub async fn list_occurrences(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: Query<OccurrencesQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let page = PageRequest::new(
        format!("meetings/{id}/occurrences"),
        query.limit,
        query.cursor.as_deref(),
        2,
    )?;
    let (from, to) = (
        query.from.map(|t| t.naive_utc()),
        query.to.map(|t| t.naive_utc()),
    );
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            series::occurrences(conn, caller, &id, from, to, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Change one occurrence alone (materialise it)
///
/// Makes the occurrence starting at `start` (its original start, RFC 3339 UTC) a meeting of its
/// own: the series' UID, `occurrence_of` the start, a copy of the master's invitees with their
/// answers (so answers, agenda and minutes work on it as on any meeting). Idempotent: 201 the
/// first time, 200 after, with the same meeting. A start that is no occurrence: 404.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "The series' master"),
        ("start" = String, Path, description = "The occurrence's original start, e.g. 2027-03-09T13:00:00Z"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "The occurrence, now a meeting of its own", body = Meeting,
            headers(("Location" = String, description = "The occurrence's meeting"), ("ETag" = String, description = "Its version"))),
        (status = 200, description = "It already was", body = Meeting, headers(("ETag" = String, description = "Its version"))),
        (status = 400, description = "The start is not RFC 3339", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only those who manage the series", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such series or occurrence, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The series is cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/occurrences/{start}")]
pub async fn materialise_occurrence(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, start) = path.into_inner();
    let id = Id::from(id);
    let (meeting, new) = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            // The scope first: a token without it learns nothing about the path.
            let start = start_of(&start)?;
            series::materialise(conn, caller, &id, start)
        })
        .await?;
    Ok(if new {
        crate::http::created(
            format!("/api/v1/meetings/{}", meeting.id),
            meeting.version,
            &meeting,
        )
    } else {
        versioned(StatusCode::OK, meeting.version, &meeting)
    })
}

/// Change one occurrence alone
///
/// As `PATCH /meetings/{id}` (local times in the zone; a change of time or place raises its
/// `sequence`), for the occurrence starting at `start` only. `If-Match`: the ETag shown for the
/// occurrence (the master's version until it is changed alone, then its own).
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "The series' master"),
        ("start" = String, Path, description = "The occurrence's original start, e.g. 2027-03-09T13:00:00Z"),
    ),
    request_body = UpdateMeeting,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "The occurrence, changed", body = Meeting, headers(("ETag" = String, description = "Its version"))),
        (status = 400, description = "The start is not RFC 3339", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only those who manage the series", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such series or occurrence, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The occurrence or series is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The occurrence changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A local time that does not exist, an end before the start, or a rule on one occurrence", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/meetings/{id}/occurrences/{start}")]
pub async fn update_occurrence(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    path: web::Path<(Uuid, String)>,
    if_match: IfMatch,
    body: Json<UpdateMeeting>,
) -> Result<HttpResponse, ApiError> {
    let (id, start) = path.into_inner();
    let id = Id::from(id);
    let patch = body.into_inner();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            // The scope first: a token without it learns nothing about the path.
            let start = start_of(&start)?;
            series::update_occurrence(conn, caller, &mailer, &id, start, &if_match, patch)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, meeting.version, &meeting))
}

/// Cancel one occurrence alone
///
/// The occurrence becomes a meeting of its own with status `cancelled` (the rest of the series
/// stays); lists show it struck.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "The series' master"),
        ("start" = String, Path, description = "The occurrence's original start, e.g. 2027-03-09T13:00:00Z"),
    ),
    request_body = CancelMeeting,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Cancelled", body = Meeting, headers(("ETag" = String, description = "Its version"))),
        (status = 400, description = "The start is not RFC 3339", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only those who manage the series", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such series or occurrence, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cancelled or held", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/occurrences/{start}/cancel")]
pub async fn cancel_occurrence(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    path: web::Path<(Uuid, String)>,
    body: Json<CancelMeeting>,
) -> Result<HttpResponse, ApiError> {
    let (id, start) = path.into_inner();
    let id = Id::from(id);
    let req = body.into_inner();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            // The scope first: a token without it learns nothing about the path.
            let start = start_of(&start)?;
            series::cancel_occurrence(conn, caller, &mailer, &id, start, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, meeting.version, &meeting))
}

/// Find free slots
///
/// Times of `duration_minutes` within working hours (`day_start`–`day_end`, local in
/// `time_zone`, weekdays unless `weekends`), every `step_minutes`, over the days `from`–`to`
/// (at most 62), when at least `min_free` of the people (`person_id`, repeated, 1 to 50) are
/// free. Busy: the scheduled meetings and series occurrences a person accepted or answered
/// tentatively. Best first (most free, then earliest), at most 50. Local times follow daylight
/// saving (09:00 is 09:00 local on the day the clocks change). Anyone with `meetings:read` who
/// sees those people; one not visible is answered as unknown (422).
#[utoipa::path(
    tag = "meetings",
    params(FreeSlotsQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The slots", body = FreeSlots),
        (status = 422, description = "No or too many people, an unknown person, a bad duration, range, zone or time", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/free-slots")]
pub async fn find_free_slots(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // `person_id` repeats: taken out here, the rest parsed as every query is.
    let mut people = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(req.query_string().as_bytes()) {
        if k == "person_id" {
            people.push(Id::parse(&v).map_err(|_| {
                ApiError::Validation(vec![FieldError::new(
                    "person_id",
                    "invalid_format",
                    "not a UUID",
                )])
            })?);
        } else {
            rest.append_pair(&k, &v);
        }
    }
    let mut query: FreeSlotsQuery = crate::http::query::parse_query(&rest.finish())?;
    query.person_id = people;
    let slots = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            free_slots::find(conn, caller, query)
        })
        .await?;
    Ok(HttpResponse::Ok().json(slots))
}
