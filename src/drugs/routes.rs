//! `/api/v1/drugs`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{CreateDrug, Drug, DrugStatus, UpdateDrug, is_atc_prefix};
use super::repo::{self, DrugsFilter};
use crate::auth::policy;
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DrugsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this company's drugs.
    pub organisation_id: Option<Id>,
    pub status: Option<DrugStatus>,
    /// An ATC code or its beginning (`L01E`: every protein kinase inhibitor).
    pub atc: Option<String>,
    /// Drugs addressing this target or alteration (exact, case-insensitive), e.g. `BRAF V600E`.
    pub target: Option<String>,
    /// Text search in generic and brand name (case-insensitive).
    pub q: Option<String>,
}

fn filter_of(query: &DrugsQuery) -> Result<DrugsFilter, ApiError> {
    let atc = match query.atc.as_deref().map(str::trim) {
        Some(prefix) if is_atc_prefix(prefix) => Some(prefix.to_uppercase()),
        Some(_) => {
            return Err(ApiError::invalid(
                "atc",
                "invalid_format",
                "must be an ATC code or its beginning: up to 7 letters and digits",
            ));
        }
        None => None,
    };
    Ok(DrugsFilter {
        organisation_id: query.organisation_id.clone(),
        status: query.status,
        atc,
        target: query.target.clone(),
        q: query.q.clone(),
    })
}

/// List drugs
///
/// Sorted by generic name. Admins see every drug; a company's representatives see its own; those
/// of partners and observers also every other company's available drugs.
#[utoipa::path(
    tag = "drugs",
    params(DrugsQuery),
    security(("bearer" = []), ("api_token" = [Scope::DrugsRead])),
    responses(
        (status = 200, description = "A page of drugs", body = Page<Drug>),
    )
)]
#[get("/drugs")]
pub async fn list_drugs(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<DrugsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter_of(&query)?;
    let page = PageRequest::new("drugs", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DrugsRead)?;
            repo::list(conn, &policy::visibility(caller), &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Register a drug
///
/// Admins, or a partner company's representatives for their own company. The company must be a
/// pharma or biotech organisation.
#[utoipa::path(
    tag = "drugs",
    request_body = CreateDrug,
    security(("bearer" = []), ("api_token" = [Scope::DrugsWrite])),
    responses(
        (status = 201, description = "Created", body = Drug,
            headers(("Location" = String, description = "The new drug"), ("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such company, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The company already has a drug with this generic name, form and strength", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/drugs")]
pub async fn create_drug(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateDrug>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (id, at) = (Id::new(), crate::core::now().and_utc());
    let drug = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DrugsWrite)?;
            repo::create(conn, caller, body.into_record(id, at))
        })
        .await?;
    Ok(created(
        format!("/api/v1/drugs/{}", drug.id),
        drug.version,
        &drug,
    ))
}

/// Get a drug
#[utoipa::path(
    tag = "drugs",
    params(("id" = uuid::Uuid, Path, description = "Drug id")),
    security(("bearer" = []), ("api_token" = [Scope::DrugsRead])),
    responses(
        (status = 200, description = "The drug", body = Drug, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such drug, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/drugs/{id}")]
pub async fn get_drug(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let drug = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DrugsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, drug.version, &drug))
}

/// Update a drug
///
/// Needs `If-Match` with the drug's current ETag. `targets` replaces the whole list.
#[utoipa::path(
    tag = "drugs",
    params(("id" = uuid::Uuid, Path, description = "Drug id")),
    request_body = UpdateDrug,
    security(("bearer" = []), ("api_token" = [Scope::DrugsWrite])),
    responses(
        (status = 200, description = "Updated", body = Drug, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such drug, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The company already has a drug with this generic name, form and strength", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/drugs/{id}")]
pub async fn update_drug(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateDrug>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let drug = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DrugsWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, drug.version, &drug))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_drugs)
        .service(create_drug)
        .service(get_drug)
        .service(update_drug);
}
