//! `/api/v1/agreements/{id}/allocations`, `/api/v1/allocations` and the usage views
//! (`/api/v1/agreements/{id}/usage`, `/api/v1/agreements/usage`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    Allocation, AllocationStatus, CreateAllocation, Outcome, RecordEvaluation, WithdrawAllocation,
};
use super::repo::{self, AllocationsFilter};
use super::usage::{self, AgreementUsage, UsageOverview};
use super::write;
use crate::auth::{Auth, Scope};
use crate::core::{Id, today};
use crate::error::{ApiError, Problem};
use crate::http::csv::{csv_response, csv_time, wants_csv};
use crate::http::{Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

/// The filters of an agreement's allocations.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgreementAllocationsQuery {
    /// Page size, 1 to 200 (default 50). Ignored for CSV, which lists every match.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only patients at this trial site.
    pub site_id: Option<Id>,
    pub cohort_id: Option<Id>,
    pub drug_id: Option<Id>,
    pub outcome: Option<Outcome>,
    pub status: Option<AllocationStatus>,
    /// Only evaluations due before this date (exclusive).
    pub due_before: Option<NaiveDate>,
}

/// The filters of the list of every visible allocation.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllocationsQuery {
    /// Page size, 1 to 200 (default 50). Ignored for CSV, which lists every match.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub agreement_id: Option<Id>,
    /// Only patients at this trial site.
    pub site_id: Option<Id>,
    pub cohort_id: Option<Id>,
    pub drug_id: Option<Id>,
    pub outcome: Option<Outcome>,
    pub status: Option<AllocationStatus>,
    /// Only evaluations due before this date (exclusive).
    pub due_before: Option<NaiveDate>,
}

const CSV_HEADERS: [&str; 15] = [
    "id",
    "agreement_id",
    "organisation_id",
    "drug_id",
    "site_id",
    "cohort_id",
    "trial_code",
    "cohort_stage",
    "started_on",
    "evaluation_due",
    "outcome",
    "evaluated_on",
    "status",
    "withdrawn_reason",
    "created_at",
];

fn csv_row(a: Allocation) -> Vec<String> {
    vec![
        a.id.into(),
        a.agreement_id.into(),
        a.organisation_id.into(),
        a.drug_id.into(),
        a.site_id.into(),
        a.cohort_id.into(),
        a.trial_code,
        a.cohort_stage.to_string(),
        a.started_on.to_string(),
        a.evaluation_due.to_string(),
        a.outcome.to_string(),
        a.evaluated_on.map(|d| d.to_string()).unwrap_or_default(),
        a.status.to_string(),
        a.withdrawn_reason.unwrap_or_default(),
        csv_time(&a.created_at),
    ]
}

/// Answers a list of allocations as a page, or as CSV when asked.
async fn list_or_export(
    state: &AppState,
    auth: Auth,
    req: &HttpRequest,
    list: String,
    agreement: Option<Id>,
    filter: AllocationsFilter,
    (limit, cursor): (Option<i64>, Option<&str>),
) -> Result<HttpResponse, ApiError> {
    if wants_csv(req) {
        let rows = auth
            .read(&state.db, move |conn, caller| {
                caller.require_scope(Scope::AllocationsRead)?;
                if let Some(id) = &agreement {
                    repo::check_agreement_list(conn, caller, id)?;
                }
                repo::export(conn, caller, &filter)
            })
            .await?;
        return csv_response("allocations", &CSV_HEADERS, rows.into_iter().map(csv_row));
    }
    let page = PageRequest::new(list, limit, cursor, 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AllocationsRead)?;
            if let Some(id) = &agreement {
                repo::check_agreement_list(conn, caller, id)?;
            }
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// List an agreement's allocations
///
/// Oldest first. Admins and the owning company see every patient under the agreement; a trial
/// site's representatives see their own site's. Send `Accept: text/csv` for a CSV export of every
/// match.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Agreement id"), AgreementAllocationsQuery),
    security(("bearer" = []), ("api_token" = [Scope::AllocationsRead])),
    responses(
        (status = 200, description = "A page of allocations, or with `Accept: text/csv` every match as CSV", content((Page<Allocation> = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}/allocations")]
pub async fn list_agreement_allocations(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: Query<AgreementAllocationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let q = query.into_inner();
    let filter = AllocationsFilter {
        agreement_id: Some(id.clone()),
        site_id: q.site_id,
        cohort_id: q.cohort_id,
        drug_id: q.drug_id,
        outcome: q.outcome,
        status: q.status,
        due_before: q.due_before,
    };
    let list = format!("agreements/{id}/allocations");
    list_or_export(
        &state,
        auth,
        &req,
        list,
        Some(id),
        filter,
        (q.limit, q.cursor.as_deref()),
    )
    .await
}

/// List allocations
///
/// Every patient the caller may see, oldest first: admins every one; a company's representatives
/// those under its agreements; a trial site's those started at the site. Send `Accept: text/csv`
/// for a CSV export of every match.
#[utoipa::path(
    tag = "allocations",
    params(AllocationsQuery),
    security(("bearer" = []), ("api_token" = [Scope::AllocationsRead])),
    responses(
        (status = 200, description = "A page of allocations, or with `Accept: text/csv` every match as CSV", content((Page<Allocation> = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/allocations")]
pub async fn list_allocations(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: Query<AllocationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = AllocationsFilter {
        agreement_id: q.agreement_id,
        site_id: q.site_id,
        cohort_id: q.cohort_id,
        drug_id: q.drug_id,
        outcome: q.outcome,
        status: q.status,
        due_before: q.due_before,
    };
    list_or_export(
        &state,
        auth,
        &req,
        "allocations".into(),
        None,
        filter,
        (q.limit, q.cursor.as_deref()),
    )
    .await
}

/// Start a patient under an agreement
///
/// Admins, or a trial site's representatives for their own site. Takes one slot of the
/// agreement's cap, of the drug's cap and of the cohort's current stage; the week-16 evaluation
/// falls due after the agreement's company-funded weeks, which the company pays for.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    request_body = CreateAllocation,
    security(("bearer" = []), ("api_token" = [Scope::AllocationsWrite])),
    responses(
        (status = 201, description = "Created", body = Allocation,
            headers(("Location" = String, description = "The new allocation"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only the secretariat or the site's own representatives start patients there", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cap-reached`: the agreement's, the drug's or the cohort stage's cap is reached; `not-taking-patients`: the agreement is not active within its dates or the cohort is not open; `conflict`: the trial code is in use", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid trial code (e.g. a national identity number), site, drug, cohort or start date", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/allocations")]
pub async fn create_allocation(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateAllocation>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let body = body.into_inner();
    let mailer = mailer.clone();
    let today = today();
    let allocation = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AllocationsWrite)?;
            write::create(conn, caller, &mailer, &id, body, today)
        })
        .await?;
    state.wake_mailer();
    Ok(created(
        format!("/api/v1/allocations/{}", allocation.id),
        allocation.version,
        &allocation,
    ))
}

/// Get an allocation
///
/// With its funding periods.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Allocation id")),
    security(("bearer" = []), ("api_token" = [Scope::AllocationsRead])),
    responses(
        (status = 200, description = "The allocation", body = Allocation, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such allocation, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/allocations/{id}")]
pub async fn get_allocation(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let allocation = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AllocationsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, allocation.version, &allocation))
}

/// Record the week-16 evaluation
///
/// Admins, or the site's own representatives. A patient with clinical benefit (complete or
/// partial response, stable disease) who started in an expansion stage moves to public funding
/// from the evaluation's date. The cohort's stage rule is applied to the new outcome.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Allocation id")),
    request_body = RecordEvaluation,
    security(("bearer" = []), ("api_token" = [Scope::AllocationsWrite])),
    responses(
        (status = 200, description = "Recorded", body = Allocation, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only the secretariat or the site's own representatives record evaluations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The allocation is withdrawn, or its outcome is already recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Pending as the outcome, or a date in the future or before the start", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/allocations/{id}/evaluation")]
pub async fn record_evaluation(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<RecordEvaluation>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let body = body.into_inner();
    let mailer = mailer.clone();
    let today = today();
    let allocation = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AllocationsWrite)?;
            write::evaluate(conn, caller, &mailer, &id, body, today)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, allocation.version, &allocation))
}

/// Withdraw an allocation entered by mistake
///
/// Admins, or the site's own representatives. Its slots of the agreement's, the drug's and the
/// cohort's caps are free again; the allocation stays, withdrawn, with the reason.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Allocation id")),
    request_body = WithdrawAllocation,
    security(("bearer" = []), ("api_token" = [Scope::AllocationsWrite])),
    responses(
        (status = 200, description = "Withdrawn", body = Allocation, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only the secretariat or the site's own representatives withdraw allocations", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such allocation, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The allocation is already withdrawn", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/allocations/{id}/withdraw")]
pub async fn withdraw_allocation(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<WithdrawAllocation>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let body = body.into_inner();
    let mailer = mailer.clone();
    let allocation = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AllocationsWrite)?;
            write::withdraw(conn, caller, &mailer, &id, body)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, allocation.version, &allocation))
}

const USAGE_CSV_HEADERS: [&str; 10] = [
    "part",
    "id",
    "name",
    "cap",
    "used",
    "remaining",
    "stage",
    "status",
    "benefits",
    "evaluation_due",
];

fn usage_rows(u: AgreementUsage) -> Vec<Vec<String>> {
    let opt = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut rows = vec![vec![
        "agreement".into(),
        u.agreement_id.into(),
        u.reference,
        u.patient_cap.to_string(),
        u.used.to_string(),
        u.remaining.to_string(),
        String::new(),
        u.status.to_string(),
        String::new(),
        String::new(),
    ]];
    rows.extend(u.drugs.into_iter().map(|d| {
        vec![
            "drug".into(),
            d.drug_id.into(),
            d.generic_name,
            opt(d.patient_cap),
            d.used.to_string(),
            opt(d.remaining),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]
    }));
    rows.extend(u.sites.into_iter().map(|s| {
        vec![
            "site".into(),
            s.site_id.into(),
            s.name,
            String::new(),
            s.used.to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]
    }));
    rows.extend(u.cohorts.into_iter().map(|c| {
        vec![
            "cohort".into(),
            c.cohort_id.into(),
            format!("{}, {}", c.tumour_type, c.alteration),
            c.stage_limit.to_string(),
            c.enrolled.to_string(),
            (c.stage_limit - c.enrolled).max(0).to_string(),
            c.stage.to_string(),
            c.status.to_string(),
            c.benefits.to_string(),
            String::new(),
        ]
    }));
    rows.extend(u.evaluations.items.into_iter().map(|e| {
        vec![
            "evaluation".into(),
            e.allocation_id.into(),
            e.trial_code,
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            if e.overdue { "overdue" } else { "due" }.into(),
            String::new(),
            e.evaluation_due.to_string(),
        ]
    }));
    rows
}

/// An agreement's usage
///
/// Admins and the owning company: the cap, used and remaining, per drug, per site and per cohort
/// (with stage and benefits), and the evaluations overdue and due in the next 30 days. Send
/// `Accept: text/csv` for the same as CSV, one row per part.
#[utoipa::path(
    tag = "allocations",
    params(("id" = uuid::Uuid, Path, description = "Agreement id")),
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "The usage, or with `Accept: text/csv` as CSV", content((AgreementUsage = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such agreement, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/{id}/usage")]
pub async fn agreement_usage(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let today = today();
    let usage = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            usage::agreement_usage(conn, caller, &id, today)
        })
        .await?;
    if wants_csv(&req) {
        return csv_response("usage", &USAGE_CSV_HEADERS, usage_rows(usage));
    }
    Ok(HttpResponse::Ok().json(usage))
}

const OVERVIEW_CSV_HEADERS: [&str; 10] = [
    "agreement_id",
    "organisation_id",
    "company",
    "reference",
    "status",
    "patient_cap",
    "used",
    "remaining",
    "due_next_30_days",
    "overdue",
];

/// The consortium-wide usage overview
///
/// The secretariat (admins) only: one row per agreement, sorted by company and reference. Send
/// `Accept: text/csv` for the same as CSV.
#[utoipa::path(
    tag = "allocations",
    security(("bearer" = []), ("api_token" = [Scope::AgreementsRead])),
    responses(
        (status = 200, description = "Every agreement's usage, or with `Accept: text/csv` as CSV", content((UsageOverview = "application/json"), (String = "text/csv"))),
        (status = 403, description = "Only the secretariat (admin) sees the overview", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/agreements/usage")]
pub async fn usage_overview(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let today = today();
    let overview = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::AgreementsRead)?;
            usage::overview(conn, caller, today)
        })
        .await?;
    if wants_csv(&req) {
        let rows = overview.items.into_iter().map(|s| {
            vec![
                s.agreement_id.into(),
                s.organisation_id.into(),
                s.company,
                s.reference,
                s.status.to_string(),
                s.patient_cap.to_string(),
                s.used.to_string(),
                s.remaining.to_string(),
                s.due_next_30_days.to_string(),
                s.overdue.to_string(),
            ]
        });
        return csv_response("usage", &OVERVIEW_CSV_HEADERS, rows);
    }
    Ok(HttpResponse::Ok().json(overview))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // The static `/agreements/usage` before any `/agreements/{id}`.
    cfg.service(usage_overview)
        .service(agreement_usage)
        .service(list_agreement_allocations)
        .service(create_allocation)
        .service(list_allocations)
        .service(get_allocation)
        .service(record_evaluation)
        .service(withdraw_allocation);
}
