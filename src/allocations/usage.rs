//! How much of an agreement's caps is used, and by whom: per drug, per site, per cohort, with the
//! evaluations falling due; and the consortium-wide overview, one row per agreement.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{AllocationStatus, CohortStage, Outcome};
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{AgreementStatus, CohortStatus, Id};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::{
    agreement_drugs as ad, agreements as ag, allocations as a, cohorts as c, drugs as d,
    organisations as o,
};

/// Evaluations falling due within this many days are listed in an agreement's usage.
pub const DUE_WITHIN_DAYS: u64 = 30;
/// How many of the evaluations due the usage view lists (it counts them all).
pub const DUE_ITEMS: i64 = 50;

/// One drug's share of an agreement.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "generic_name": "vemurafenib", "patient_cap": 3, "used": 2, "remaining": 1}))]
pub struct DrugUsage {
    pub drug_id: Id,
    pub generic_name: String,
    /// The drug's own cap within the agreement; `null`: only the agreement's cap applies.
    pub patient_cap: Option<i32>,
    pub used: i32,
    pub remaining: Option<i32>,
}

/// Patients a trial site started under the agreement (withdrawn ones not counted).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"site_id": "01937c4e-0000-7000-8000-0000000000b5", "name": "Oslo universitetssykehus HF", "used": 4}))]
pub struct SiteUsage {
    pub site_id: Id,
    pub name: String,
    pub used: i64,
}

/// A cohort of the agreement and how far it has come.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"cohort_id": "01937c4e-6666-7000-8000-0000000000c0", "drug_id": "01937c4e-3333-7000-8000-0000000000dd", "tumour_type": "melanoma", "alteration": "BRAF V600E", "stage": "stage_2", "status": "open", "enrolled": 10, "stage_limit": 24, "benefits": 2}))]
pub struct CohortUsage {
    pub cohort_id: Id,
    pub drug_id: Id,
    pub tumour_type: String,
    pub alteration: String,
    pub stage: CohortStage,
    pub status: CohortStatus,
    pub enrolled: i32,
    pub stage_limit: i32,
    /// Patients with clinical benefit at week 16.
    pub benefits: i64,
}

/// A week-16 evaluation still to be recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"allocation_id": "01937c4e-5555-7000-8000-0000000000a1", "trial_code": "IMPRESS-0042", "site_id": "01937c4e-0000-7000-8000-0000000000b5", "evaluation_due": "2026-12-01", "overdue": true}))]
pub struct DueEvaluation {
    pub allocation_id: Id,
    pub trial_code: String,
    pub site_id: Id,
    pub evaluation_due: NaiveDate,
    /// Due before today.
    pub overdue: bool,
}

/// The evaluations overdue and those due in the next 30 days.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"overdue": 1, "due_next_30_days": 0, "items": [{"allocation_id": "01937c4e-5555-7000-8000-0000000000a1", "trial_code": "IMPRESS-0042", "site_id": "01937c4e-0000-7000-8000-0000000000b5", "evaluation_due": "2026-12-01", "overdue": true}]}))]
pub struct EvaluationsDue {
    pub overdue: i64,
    pub due_next_30_days: i64,
    /// The first 50 of them, oldest due date first; all of them:
    /// `GET /api/v1/agreements/{id}/allocations?outcome=pending&due_before=<as_of + 30 days>`.
    pub items: Vec<DueEvaluation>,
}

/// An agreement's caps and their use.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "agreement_id": "01937c4e-4444-7000-8000-0000000000a9", "reference": "CONNECT-ROCHE-2021",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "company": "Roche Norge AS",
    "status": "active", "as_of": "2026-12-06", "patient_cap": 10, "used": 4, "remaining": 6,
    "drugs": [{"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "generic_name": "vemurafenib", "patient_cap": 3, "used": 2, "remaining": 1}],
    "sites": [{"site_id": "01937c4e-0000-7000-8000-0000000000b5", "name": "Oslo universitetssykehus HF", "used": 4}],
    "cohorts": [{"cohort_id": "01937c4e-6666-7000-8000-0000000000c0", "drug_id": "01937c4e-3333-7000-8000-0000000000dd", "tumour_type": "melanoma", "alteration": "BRAF V600E", "stage": "stage_1", "status": "open", "enrolled": 4, "stage_limit": 8, "benefits": 0}],
    "evaluations": {"overdue": 1, "due_next_30_days": 0, "items": [{"allocation_id": "01937c4e-5555-7000-8000-0000000000a1", "trial_code": "IMPRESS-0042", "site_id": "01937c4e-0000-7000-8000-0000000000b5", "evaluation_due": "2026-12-01", "overdue": true}]}
}))]
pub struct AgreementUsage {
    pub agreement_id: Id,
    pub reference: String,
    pub organisation_id: Id,
    pub company: String,
    pub status: AgreementStatus,
    /// The day "overdue" and "next 30 days" are counted from.
    pub as_of: NaiveDate,
    pub patient_cap: i32,
    pub used: i32,
    pub remaining: i32,
    pub drugs: Vec<DrugUsage>,
    pub sites: Vec<SiteUsage>,
    pub cohorts: Vec<CohortUsage>,
    pub evaluations: EvaluationsDue,
}

/// One agreement in the consortium-wide overview.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"agreement_id": "01937c4e-4444-7000-8000-0000000000a9", "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "company": "Roche Norge AS", "reference": "CONNECT-ROCHE-2021", "status": "active", "patient_cap": 10, "used": 4, "remaining": 6, "due_next_30_days": 2, "overdue": 1}))]
pub struct UsageSummary {
    pub agreement_id: Id,
    pub organisation_id: Id,
    pub company: String,
    pub reference: String,
    pub status: AgreementStatus,
    pub patient_cap: i32,
    pub used: i32,
    pub remaining: i32,
    pub due_next_30_days: i64,
    pub overdue: i64,
}

/// Every agreement's use, sorted by company and reference.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"as_of": "2026-12-06", "items": [{"agreement_id": "01937c4e-4444-7000-8000-0000000000a9", "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "company": "Roche Norge AS", "reference": "CONNECT-ROCHE-2021", "status": "active", "patient_cap": 10, "used": 4, "remaining": 6, "due_next_30_days": 2, "overdue": 1}]}))]
pub struct UsageOverview {
    pub as_of: NaiveDate,
    pub items: Vec<UsageSummary>,
}

type Head = (Id, Id, String, String, AgreementStatus, i32, i32);

/// Active allocations whose evaluation is still to be recorded.
type PendingDue = diesel::dsl::And<
    diesel::dsl::Eq<a::status, AllocationStatus>,
    diesel::dsl::Eq<a::outcome, Outcome>,
>;

fn pending_due() -> PendingDue {
    a::status
        .eq(AllocationStatus::Active)
        .and(a::outcome.eq(Outcome::Pending))
}

fn horizon(today: NaiveDate) -> NaiveDate {
    today
        .checked_add_days(Days::new(DUE_WITHIN_DAYS))
        .unwrap_or(today)
}

/// An agreement's usage, for admins and the owning company (404 for anyone else).
pub fn agreement_usage(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    today: NaiveDate,
) -> Result<AgreementUsage, ApiError> {
    let (agreement_id, company_id, company, reference, status, cap, used): Head = ag::table
        .inner_join(o::table)
        .filter(ag::id.eq(id))
        .select((
            ag::id,
            ag::organisation_id,
            o::name,
            ag::reference,
            ag::status,
            ag::patient_cap,
            ag::patients_used,
        ))
        .first(conn)?;
    policy::see_agreement(caller, &company_id)?;

    let drugs: Vec<(Id, String, Option<i32>, i32)> = ad::table
        .inner_join(d::table)
        .filter(ad::agreement_id.eq(id))
        .order((d::generic_name.asc(), d::id.asc()))
        .select((
            ad::drug_id,
            d::generic_name,
            ad::patient_cap,
            ad::patients_used,
        ))
        .load(conn)?;
    let drugs = drugs
        .into_iter()
        .map(|(drug_id, generic_name, patient_cap, used)| DrugUsage {
            drug_id,
            generic_name,
            patient_cap,
            used,
            remaining: patient_cap.map(|cap| (cap - used).max(0)),
        })
        .collect();

    // One pass over the agreement's active patients (the usage index covers it): the patients
    // per site and the benefits per cohort.
    let groups: Vec<(String, String, Outcome, i64)> = a::table
        .filter(a::agreement_id.eq(id))
        .filter(a::status.eq(AllocationStatus::Active))
        .group_by((a::site_id, a::cohort_id, a::outcome))
        .select((a::site_id, a::cohort_id, a::outcome, count_star()))
        .load(conn)?;
    let mut per_site: HashMap<String, i64> = HashMap::new();
    let mut benefits: HashMap<String, i64> = HashMap::new();
    for (site, cohort, outcome, n) in groups {
        *per_site.entry(site).or_default() += n;
        if outcome.is_benefit() {
            *benefits.entry(cohort).or_default() += n;
        }
    }
    let site_ids: Vec<&str> = per_site.keys().map(String::as_str).collect();
    let names: HashMap<String, String> = o::table
        .filter(o::id.eq_any(&site_ids))
        .select((o::id, o::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut sites: Vec<SiteUsage> = per_site
        .iter()
        .map(|(site, used)| {
            Ok(SiteUsage {
                site_id: Id::from_stored(site)?,
                name: names.get(site).cloned().unwrap_or_default(),
                used: *used,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    sites.sort_by(|x, y| x.name.cmp(&y.name).then(x.site_id.cmp(&y.site_id)));

    type CohortCols = (Id, Id, String, String, CohortStage, CohortStatus, i32, i32);
    let cohorts: Vec<CohortCols> = c::table
        .filter(c::agreement_id.eq(id))
        .order((c::tumour_type.asc(), c::alteration.asc(), c::id.asc()))
        .select((
            c::id,
            c::drug_id,
            c::tumour_type,
            c::alteration,
            c::stage,
            c::status,
            c::enrolled,
            c::stage_limit,
        ))
        .load(conn)?;
    let cohorts = cohorts
        .into_iter()
        .map(
            |(
                cohort_id,
                drug_id,
                tumour_type,
                alteration,
                stage,
                status,
                enrolled,
                stage_limit,
            )| {
                CohortUsage {
                    benefits: benefits.get(cohort_id.as_str()).copied().unwrap_or(0),
                    cohort_id,
                    drug_id,
                    tumour_type,
                    alteration,
                    stage,
                    status,
                    enrolled,
                    stage_limit,
                }
            },
        )
        .collect();

    let pending = || {
        a::table
            .filter(a::agreement_id.eq(id))
            .filter(pending_due())
    };
    // Counted per day up to the horizon (the due index covers it), then split at today.
    let per_day: Vec<(NaiveDate, i64)> = pending()
        .filter(a::evaluation_due.le(horizon(today)))
        .group_by(a::evaluation_due)
        .select((a::evaluation_due, count_star()))
        .load(conn)?;
    let (overdue, due_next_30_days) = per_day.iter().fold((0, 0), |(overdue, soon), &(day, n)| {
        if day < today {
            (overdue + n, soon)
        } else {
            (overdue, soon + n)
        }
    });
    let due: Vec<(Id, String, Id, NaiveDate)> = pending()
        .filter(a::evaluation_due.le(horizon(today)))
        .order((a::evaluation_due.asc(), a::id.asc()))
        .select((a::id, a::trial_code, a::site_id, a::evaluation_due))
        .limit(DUE_ITEMS)
        .load(conn)?;
    let items: Vec<DueEvaluation> = due
        .into_iter()
        .map(
            |(allocation_id, trial_code, site_id, evaluation_due)| DueEvaluation {
                allocation_id,
                trial_code,
                site_id,
                evaluation_due,
                overdue: evaluation_due < today,
            },
        )
        .collect();
    let evaluations = EvaluationsDue {
        overdue,
        due_next_30_days,
        items,
    };
    Ok(AgreementUsage {
        agreement_id,
        reference,
        organisation_id: company_id,
        company,
        status,
        as_of: today,
        patient_cap: cap,
        used,
        remaining: (cap - used).max(0),
        drugs,
        sites,
        cohorts,
        evaluations,
    })
}

/// The consortium-wide overview (admins only).
pub fn overview(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
) -> Result<UsageOverview, ApiError> {
    policy::see_usage_overview(caller)?;
    let heads: Vec<Head> = ag::table
        .inner_join(o::table)
        .order((o::name.asc(), ag::reference.asc(), ag::id.asc()))
        .select((
            ag::id,
            ag::organisation_id,
            o::name,
            ag::reference,
            ag::status,
            ag::patient_cap,
            ag::patients_used,
        ))
        .load(conn)?;
    let overdue: HashMap<String, i64> = a::table
        .filter(pending_due())
        .filter(a::evaluation_due.lt(today))
        .group_by(a::agreement_id)
        .select((a::agreement_id, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let due: HashMap<String, i64> = a::table
        .filter(pending_due())
        .filter(a::evaluation_due.ge(today))
        .filter(a::evaluation_due.le(horizon(today)))
        .group_by(a::agreement_id)
        .select((a::agreement_id, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let items = heads
        .into_iter()
        .map(
            |(agreement_id, organisation_id, company, reference, status, cap, used)| UsageSummary {
                due_next_30_days: due.get(agreement_id.as_str()).copied().unwrap_or(0),
                overdue: overdue.get(agreement_id.as_str()).copied().unwrap_or(0),
                agreement_id,
                organisation_id,
                company,
                reference,
                status,
                patient_cap: cap,
                used,
                remaining: (cap - used).max(0),
            },
        )
        .collect();
    Ok(UsageOverview {
        as_of: today,
        items,
    })
}
