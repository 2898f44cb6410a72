//! `/api/v1/cohorts`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CloseCohort, Cohort, CohortHistory, CohortStage, CohortStatus, CreateCohort, OpenExpansion,
};
use super::repo::{self, CohortsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CohortsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub agreement_id: Option<Id>,
    pub drug_id: Option<Id>,
    /// Only this company's cohorts.
    pub organisation_id: Option<Id>,
    pub stage: Option<CohortStage>,
    pub status: Option<CohortStatus>,
    /// Text search in tumour type and alteration (case-insensitive).
    pub q: Option<String>,
}

/// List cohorts
///
/// Sorted by tumour type. Every member sees every cohort; others their own company's.
#[utoipa::path(
    tag = "cohorts",
    params(CohortsQuery),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "A page of cohorts", body = Page<Cohort>),
    )
)]
#[get("/cohorts")]
pub async fn list_cohorts(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<CohortsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = CohortsFilter {
        agreement_id: query.agreement_id.clone(),
        drug_id: query.drug_id.clone(),
        organisation_id: query.organisation_id.clone(),
        stage: query.stage,
        status: query.status,
        q: query.q.clone(),
    };
    let page = PageRequest::new("cohorts", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a cohort
///
/// Admins. The drug must be covered by the agreement. The cohort starts in stage 1, open, with
/// room for `stage1_size` patients.
#[utoipa::path(
    tag = "cohorts",
    request_body = CreateCohort,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 201, description = "Created", body = Cohort,
            headers(("Location" = String, description = "The new cohort"), ("ETag" = String, description = "Its version"))),
        (status = 409, description = "The agreement already has this cohort", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cohorts")]
pub async fn create_cohort(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateCohort>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let id = Id::new();
    let cohort = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::create(conn, caller, &id, &req)
        })
        .await?;
    Ok(created(
        format!("/api/v1/cohorts/{}", cohort.id),
        cohort.version,
        &cohort,
    ))
}

/// Get a cohort
///
/// With its counts: patients enrolled, with benefit, pending and evaluated.
#[utoipa::path(
    tag = "cohorts",
    params(("id" = uuid::Uuid, Path, description = "Cohort id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The cohort", body = Cohort, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such cohort, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cohorts/{id}")]
pub async fn get_cohort(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let cohort = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, cohort.version, &cohort))
}

/// A cohort's history
///
/// Every change of stage or status, oldest first, with the patients and benefits at the time.
#[utoipa::path(
    tag = "cohorts",
    params(("id" = uuid::Uuid, Path, description = "Cohort id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The history", body = CohortHistory),
        (status = 404, description = "No such cohort, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/cohorts/{id}/history")]
pub async fn cohort_history(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let items = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::history(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CohortHistory { items }))
}

/// Open a cohort's expansion stage
///
/// Admins, when the cohort is eligible for expansion: stage expansion, open, room for the
/// patients of stage 2 plus `size`.
#[utoipa::path(
    tag = "cohorts",
    params(("id" = uuid::Uuid, Path, description = "Cohort id")),
    request_body = OpenExpansion,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Expansion open", body = Cohort, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such cohort, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not eligible for expansion", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cohorts/{id}/open-expansion")]
pub async fn open_cohort_expansion(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<OpenExpansion>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let mailer = mailer.clone();
    let cohort = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::open_expansion(conn, caller, &mailer, &id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, cohort.version, &cohort))
}

/// Close a cohort
///
/// Admins, with a reason. It takes no more patients; those started continue.
#[utoipa::path(
    tag = "cohorts",
    params(("id" = uuid::Uuid, Path, description = "Cohort id")),
    request_body = CloseCohort,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Closed", body = Cohort, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such cohort, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cohorts/{id}/close")]
pub async fn close_cohort(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CloseCohort>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let mailer = mailer.clone();
    let cohort = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::close(conn, caller, &mailer, &id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, cohort.version, &cohort))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_cohorts)
        .service(create_cohort)
        .service(get_cohort)
        .service(cohort_history)
        .service(open_cohort_expansion)
        .service(close_cohort);
}
