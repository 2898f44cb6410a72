//! `/api/v1/agreements`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    AddCoveredDrug, Agreement, AgreementHistory, AgreementStatus, Amendment, ConsortiumSummary,
    CoveredDrug, CoveredDrugs, CreateAgreement, Step, TransitionRequest, UpdateAgreement,
};
use super::repo::{self, AgreementsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgreementsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this company's agreements.
    pub organisation_id: Option<Id>,
    pub status: Option<AgreementStatus>,
    /// Text search in reference and title (case-insensitive).
    pub q: Option<String>,
}

/// List agreements
///
/// Sorted by reference. Admins see every agreement; a company's representatives their own
/// company's; nobody else any.
#[utoipa::path(
    tag = "agreements",
    params(AgreementsQuery),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "A page of agreements", body = Page<Agreement>),
    )
)]
#[get("/agreements")]
pub async fn list_agreements(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<AgreementsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = AgreementsFilter {
        organisation_id: query.organisation_id.clone(),
        status: query.status,
        q: query.q.clone(),
    };
    let page = PageRequest::new("agreements", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Draft an agreement
///
/// Admins, or a partner company's representatives for their own company. The company must be a
/// pharma or biotech organisation. The agreement starts as a draft.
#[utoipa::path(
    tag = "agreements",
    request_body = CreateAgreement,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 201, description = "Created", body = Agreement,
            headers(("Location" = String, description = "The new agreement"), ("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such company, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another agreement has this reference", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements")]
pub async fn create_agreement(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateAgreement>,
) -> Result<HttpResponse, ApiError> {
    let (company, terms) = body.into_inner().terms();
    let id = Id::new();
    let agreement = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::create(conn, caller, &id, &company, terms)
        })
        .await?;
    Ok(created(
        format!("/api/v1/agreements/{}", agreement.id),
        agreement.version,
        &agreement,
    ))
}

/// The consortium summary
///
/// For every member: the companies contributing under an active agreement, the drugs available
/// under them and the cohorts open. No caps and no usage.
#[utoipa::path(
    tag = "agreements",
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The summary", body = ConsortiumSummary),
    )
)]
#[get("/agreements/summary")]
pub async fn agreements_summary(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let summary = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::summary::summary(conn, caller)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

/// Get an agreement
///
/// With its covered drugs and how much of each cap is used.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The agreement", body = Agreement, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}")]
pub async fn get_agreement(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let agreement = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, agreement.version, &agreement))
}

/// Update an agreement
///
/// Needs `If-Match`. A draft: every field (the company's representatives or admins); submitted:
/// every field (admins); active, suspended or ended: `title`, `notes`, `documents` and
/// `signed_on` only (admins); caps, dates and funded weeks change by amendment.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = UpdateAgreement,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Updated", body = Agreement, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reference is taken, or the field changes by amendment only", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/agreements/{id}")]
pub async fn update_agreement(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateAgreement>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let agreement = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, agreement.version, &agreement))
}

/// List the drugs an agreement covers
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The covered drugs, by generic name", body = CoveredDrugs),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}/drugs")]
pub async fn list_covered_drugs(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let items = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::drugs::list(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CoveredDrugs { items }))
}

/// Cover a drug
///
/// While the agreement is a draft (its company's representatives or admins) or submitted
/// (admins). Only the company's own drugs; a drug's cap is at most the agreement's.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = AddCoveredDrug,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 201, description = "Covered", body = CoveredDrug,
            headers(("Location" = String, description = "The agreement's drugs"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already covered, or the agreement is in force (amend it)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/drugs")]
pub async fn add_covered_drug(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<AddCoveredDrug>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let path = format!("/api/v1/agreements/{id}/drugs");
    let drug = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::drugs::add(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, path))
        .json(drug))
}

/// Get a covered drug
///
/// Its `ETag` is the agreement's version, which removing the drug needs.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id"),
           ("drug_id" = uuid::Uuid, Path, description = "Drug id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The covered drug", body = CoveredDrug, headers(("ETag" = String, description = "The agreement's version"))),
        (status = 404, description = "No such agreement or covered drug, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}/drugs/{drug_id}")]
pub async fn get_covered_drug(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, drug_id) = path.into_inner();
    let (id, drug_id) = (Id::from(id), Id::from(drug_id));
    let (drug, version) = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::drugs::get(conn, caller, &id, &drug_id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, version, &drug))
}

/// Stop covering a drug
///
/// While the agreement is a draft or submitted, and no cohort uses the drug under it. Needs
/// `If-Match` with the agreement's current ETag.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id"),
           ("drug_id" = uuid::Uuid, Path, description = "Drug id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 204, description = "No longer covered"),
        (status = 404, description = "No such agreement or covered drug, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A cohort uses the drug, or the agreement is in force (amend it)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/agreements/{id}/drugs/{drug_id}")]
pub async fn remove_covered_drug(
    state: web::Data<AppState>,
    auth: Auth,
    if_match: IfMatch,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, drug_id) = path.into_inner();
    let (id, drug_id) = (Id::from(id), Id::from(drug_id));
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::AgreementsWrite)?;
        repo::drugs::remove(conn, caller, &id, &drug_id, &if_match)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn step(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: Uuid,
    body: TransitionRequest,
    step: Step,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id);
    let mailer = mailer.clone();
    let agreement = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::lifecycle::transition(conn, caller, &mailer, &id, step, body)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, agreement.version, &agreement))
}

/// Submit an agreement
///
/// draft → submitted, by the company's representatives or admins.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = TransitionRequest,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Submitted", body = Agreement, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft (any more)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/submit")]
pub async fn submit_agreement(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        mailer,
        auth,
        id.into_inner(),
        body.into_inner(),
        Step::Submit,
    )
    .await
}

/// Activate an agreement
///
/// submitted or suspended → active (admins). Needs `effective_from` and at least one covered drug.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = TransitionRequest,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Active", body = Agreement, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Neither submitted nor suspended (any more)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/activate")]
pub async fn activate_agreement(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        mailer,
        auth,
        id.into_inner(),
        body.into_inner(),
        Step::Activate,
    )
    .await
}

/// Suspend an agreement
///
/// active → suspended (admins), with a reason. It takes no new patients; those started continue.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = TransitionRequest,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Suspended", body = Agreement, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active (any more)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/suspend")]
pub async fn suspend_agreement(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        mailer,
        auth,
        id.into_inner(),
        body.into_inner(),
        Step::Suspend,
    )
    .await
}

/// End an agreement
///
/// active or suspended → ended (admins), with a reason.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = TransitionRequest,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 200, description = "Ended", body = Agreement, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Neither active nor suspended (any more)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/end")]
pub async fn end_agreement(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<TransitionRequest>,
) -> Result<HttpResponse, ApiError> {
    step(
        state,
        mailer,
        auth,
        id.into_inner(),
        body.into_inner(),
        Step::End,
    )
    .await
}

/// Amend an agreement
///
/// Active or suspended agreements (admins), with a reason: caps, funded weeks, end date, covered
/// drugs and their caps. No cap may go below what is used. Kept in the history with what changed.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = Amendment,
    security(("bearer" = []), ("api_token" = [Scope::AgreementsWrite])),
    responses(
        (status = 201, description = "Amended", body = Agreement,
            headers(("Location" = String, description = "The agreement's history"), ("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Neither active nor suspended, or a cohort uses a drug to remove", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/amendments")]
pub async fn amend_agreement(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<Amendment>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let agreement = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsWrite)?;
            repo::amend::amend(conn, caller, &id, req)
        })
        .await?;
    Ok(created(
        format!("/api/v1/agreements/{}/history", agreement.id),
        agreement.version,
        &agreement,
    ))
}

/// An agreement's history
///
/// Every transition and amendment, oldest first.
#[utoipa::path(
    tag = "agreements",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The history", body = AgreementHistory),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}/history")]
pub async fn agreement_history(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let items = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            repo::lifecycle::history(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AgreementHistory { items }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // Static paths before `/agreements/{id}`.
    cfg.service(agreements_summary)
        .service(list_agreements)
        .service(create_agreement)
        .service(get_agreement)
        .service(update_agreement)
        .service(list_covered_drugs)
        .service(add_covered_drug)
        .service(get_covered_drug)
        .service(remove_covered_drug)
        .service(submit_agreement)
        .service(activate_agreement)
        .service(suspend_agreement)
        .service(end_agreement)
        .service(amend_agreement)
        .service(agreement_history);
}
