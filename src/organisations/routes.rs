//! `/api/v1/organisations` and `/api/v1/organisations/{id}/membership-changes`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CreateMembershipChange, CreateOrganisation, HealthRegion, MembershipChange, MembershipStatus,
    Organisation, OrganisationKind, UpdateOrganisation,
};
use super::repo::{self, OrgFilter};
use crate::auth::policy;
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::csv::{csv_response, csv_time, wants_csv};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Page size, 1 to 200 (default 50). Ignored for CSV, which lists every match.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub kind: Option<OrganisationKind>,
    /// One status or several separated by commas, e.g. `partner,observer`.
    pub membership_status: Option<String>,
    pub health_region: Option<HealthRegion>,
    pub trial_site: Option<bool>,
    pub founding_partner: Option<bool>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    /// Text search in name, short name and organisation number (case-insensitive).
    pub q: Option<String>,
    /// Admins: include archived organisations.
    pub include_archived: Option<bool>,
}

impl OrganisationQuery {
    fn filter(&self) -> Result<OrgFilter, ApiError> {
        let statuses = self
            .membership_status
            .as_deref()
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .map(|s| {
                        MembershipStatus::parse(s).ok_or_else(|| {
                            ApiError::invalid(
                                "membership_status",
                                "invalid_value",
                                format!("'{s}' is not a membership status"),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(OrgFilter {
            kind: self.kind,
            membership_status: statuses,
            health_region: self.health_region,
            trial_site: self.trial_site,
            founding_partner: self.founding_partner,
            country: self.country.clone(),
            q: self.q.clone(),
            include_archived: self.include_archived.unwrap_or(false),
        })
    }
}

const CSV_HEADERS: [&str; 16] = [
    "id",
    "name",
    "short_name",
    "kind",
    "sector",
    "org_number",
    "country",
    "website",
    "health_region",
    "trial_site",
    "membership_status",
    "founding_partner",
    "joined_on",
    "left_on",
    "archived_at",
    "updated_at",
];

fn csv_row(o: Organisation) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    vec![
        o.id.into(),
        o.name,
        opt(o.short_name),
        o.kind.to_string(),
        o.sector.to_string(),
        opt(o.org_number),
        o.country,
        opt(o.website),
        opt(o.health_region.map(|h| h.to_string())),
        o.trial_site.to_string(),
        o.membership_status.to_string(),
        o.founding_partner.to_string(),
        opt(o.joined_on.map(|d| d.to_string())),
        opt(o.left_on.map(|d| d.to_string())),
        opt(o.archived_at.as_ref().map(csv_time)),
        csv_time(&o.updated_at),
    ]
}

/// List organisations
///
/// The register, sorted by name. Admins see every organisation; partners' and observers'
/// representatives see member organisations, trial sites and their own; others only their own.
/// Send `Accept: text/csv` for a CSV export of every match.
#[utoipa::path(
    tag = "organisations",
    params(OrganisationQuery),
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsRead])),
    responses(
        (status = 200, description = "A page of organisations, or with `Accept: text/csv` every match as CSV", content((Page<Organisation> = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: Query<OrganisationQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?;
    if wants_csv(&req) {
        let rows = auth
            .read(&state.db, move |conn, caller| {
                caller.require_scope(Scope::OrganisationsRead)?;
                repo::export(conn, &policy::visibility(caller), &filter)
            })
            .await?;
        return csv_response("organisations", &CSV_HEADERS, rows.into_iter().map(csv_row));
    }
    let page = PageRequest::new("organisations", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsRead)?;
            repo::list(conn, &policy::visibility(caller), &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create an organisation
///
/// Admins only. It starts with membership status `none`; use membership changes to admit it.
#[utoipa::path(
    tag = "organisations",
    request_body = CreateOrganisation,
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsWrite])),
    responses(
        (status = 201, description = "Created", body = Organisation,
            headers(("Location" = String, description = "The new organisation"), ("ETag" = String, description = "Its version"))),
        (status = 409, description = "The name or organisation number is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    let record = body
        .into_inner()
        .into_record(Id::new(), crate::core::now().and_utc());
    let org = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::OrganisationsWrite)?;
            repo::create(conn, caller, record)
        })
        .await?;
    Ok(created(
        format!("/api/v1/organisations/{}", org.id),
        org.version,
        &org,
    ))
}

/// Get an organisation
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsRead])),
    responses(
        (status = 200, description = "The organisation", body = Organisation, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such organisation, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let org = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, org.version, &org))
}

/// Update an organisation
///
/// Admins, or the organisation's own representatives while it is a partner, observer or
/// applicant. Only admins change `trial_site` and `founding_partner`; the membership status
/// changes through membership changes.
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    request_body = UpdateOrganisation,
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsWrite])),
    responses(
        (status = 200, description = "Updated", body = Organisation, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such organisation, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the name or number is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let org = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, org.version, &org))
}

/// Archive an organisation
///
/// Admins only. Organisations are never deleted: archiving hides it from everyone but admins
/// (list with `include_archived=true`) and keeps its history. Undo with `restore`.
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsWrite])),
    responses(
        (status = 204, description = "Archived"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/organisations/{id}")]
pub async fn archive_organisation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::OrganisationsWrite)?;
        repo::set_archived(conn, caller, &id, &if_match, true)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restore an archived organisation
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsWrite])),
    responses(
        (status = 200, description = "Restored", body = Organisation, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/{id}/restore")]
pub async fn restore_organisation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let org = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsWrite)?;
            repo::set_archived(conn, caller, &id, &IfMatch(None), false)
        })
        .await?;
    Ok(versioned(StatusCode::OK, org.version, &org))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Membership history
///
/// Every change of the organisation's membership status, oldest first. Admins and the
/// organisation's own representatives.
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id"), HistoryQuery),
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsRead])),
    responses(
        (status = 200, description = "A page of changes", body = Page<MembershipChange>),
        (status = 404, description = "No such organisation, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/organisations/{id}/membership-changes")]
pub async fn list_membership_changes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let page = PageRequest::new(
        format!("organisations/{id}/membership-changes"),
        query.limit,
        query.cursor.as_deref(),
        1,
    )?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsRead)?;
            repo::history(conn, caller, &id, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Change membership status
///
/// Admins only. Allowed transitions: none → applicant, partner, observer; applicant → partner,
/// observer, none; partner → observer, suspended, withdrawn; observer → partner, suspended,
/// withdrawn; suspended → partner, observer, withdrawn; withdrawn → applicant. The effective date
/// may not be in the future nor before the previous change. `joined_on` and `left_on` follow.
/// The representatives' rights follow the new status at once.
#[utoipa::path(
    tag = "organisations",
    params(("id" = uuid::Uuid, Path, description = "Organisation id")),
    request_body = CreateMembershipChange,
    security(("bearer" = []), ("api_token" = [Scope::OrganisationsWrite])),
    responses(
        (status = 201, description = "Recorded; the organisation has the new status", body = MembershipChange,
            headers(("Location" = String, description = "The history"), ("ETag" = String, description = "The organisation's new version"))),
        (status = 404, description = "No such organisation, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Archived, or the status changed meanwhile", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations/{id}/membership-changes")]
pub async fn create_membership_change(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateMembershipChange>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let today = crate::core::today();
    let mailer = mailer.clone();
    let (change, org) = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::OrganisationsWrite)?;
            repo::change_membership(conn, caller, &mailer, &id, req, today)
        })
        .await?;
    state.wake_mailer();
    Ok(created(
        format!("/api/v1/organisations/{}/membership-changes", org.id),
        org.version,
        &change,
    ))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_organisations)
        .service(create_organisation)
        .service(get_organisation)
        .service(update_organisation)
        .service(archive_organisation)
        .service(restore_organisation)
        .service(list_membership_changes)
        .service(create_membership_change);
}
