//! `cohorts` in the database: the cohorts and their history here, the plan's moves
//! ([`reassess`], expansion, closing) in [`plan`]. Counts come from the cohort's allocations that
//! are `active`.

pub mod plan;

pub use plan::{close, open_expansion, reassess};

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Cohort, CohortEvent, CohortStage, CohortStatus, CreateCohort, Plan, validate};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{AgreementStatus, AllocationStatus, Id, Outcome, now};
use crate::db::functions::{fold_case, lower};
use crate::db::{DbConn, like_pattern, seek_after};
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::schema::{
    agreement_drugs as ad, agreements as a, allocations as al, cohort_events as ce, cohorts as c,
};

/// A cohort as stored (its counts are read from the allocations).
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = c)]
pub(crate) struct CohortRow {
    pub id: Id,
    pub agreement_id: Id,
    pub drug_id: Id,
    pub organisation_id: Id,
    pub tumour_type: String,
    pub alteration: String,
    pub stage: CohortStage,
    pub status: CohortStatus,
    pub stage1_size: i32,
    pub stage2_size: i32,
    pub stage2_target: i32,
    pub expansion_target: i32,
    pub expansion_size: Option<i32>,
    pub stage_limit: i32,
    pub closed_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// A cohort's patients by outcome (active allocations only).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub enrolled: i32,
    pub benefits: i32,
    pub pending: i32,
}

impl CohortRow {
    fn into_cohort(self, n: Counts) -> Cohort {
        Cohort {
            id: self.id,
            agreement_id: self.agreement_id,
            drug_id: self.drug_id,
            organisation_id: self.organisation_id,
            tumour_type: self.tumour_type,
            alteration: self.alteration,
            stage: self.stage,
            status: self.status,
            stage1_size: self.stage1_size,
            stage2_size: self.stage2_size,
            stage2_target: self.stage2_target,
            expansion_target: self.expansion_target,
            expansion_size: self.expansion_size,
            stage_limit: self.stage_limit,
            enrolled: n.enrolled,
            benefits: n.benefits,
            pending: n.pending,
            evaluated: n.enrolled - n.pending,
            closed_reason: self.closed_reason,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

/// The counts of the given cohorts.
pub(crate) fn counts(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Counts>, ApiError> {
    let mut out: HashMap<String, Counts> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, Outcome, i64)> = al::table
        .filter(al::cohort_id.eq_any(ids))
        .filter(al::status.eq(AllocationStatus::Active.as_str()))
        .group_by((al::cohort_id, al::outcome))
        .select((al::cohort_id, al::outcome, diesel::dsl::count_star()))
        .load(conn)?;
    for (id, outcome, n) in rows {
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        let entry = out.entry(id).or_default();
        entry.enrolled += n;
        if outcome == Outcome::Pending {
            entry.pending += n;
        } else if outcome.is_benefit() {
            entry.benefits += n;
        }
    }
    Ok(out)
}

pub(crate) fn find_row(conn: &mut DbConn, id: &str) -> Result<CohortRow, ApiError> {
    Ok(c::table
        .filter(c::id.eq(id))
        .select(CohortRow::as_select())
        .first::<CohortRow>(conn)?)
}

pub(crate) fn with_counts(conn: &mut DbConn, row: CohortRow) -> Result<Cohort, ApiError> {
    let n = counts(conn, &[row.id.as_str()])?
        .remove(row.id.as_str())
        .unwrap_or_default();
    Ok(row.into_cohort(n))
}

/// Loads a cohort regardless of who asks (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Cohort, ApiError> {
    let row = find_row(conn, id)?;
    with_counts(conn, row)
}

/// Loads a cohort the caller may see (404 otherwise).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Cohort, ApiError> {
    let row = find_row(conn, id)?;
    policy::see_cohort(caller, &row.organisation_id)?;
    with_counts(conn, row)
}

/// Creates a cohort in stage 1, open, with its first history entry.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    id: &Id,
    req: &CreateCohort,
) -> Result<Cohort, ApiError> {
    policy::manage_cohorts(caller)?;
    let plan: Plan = req.plan();
    validate(&plan)?;
    let agreement: Option<(Id, AgreementStatus)> = a::table
        .filter(a::id.eq(&req.agreement_id))
        .select((a::organisation_id, a::status))
        .first(conn)
        .optional()?;
    let Some((company, status)) = agreement else {
        return Err(ApiError::invalid(
            "agreement_id",
            "not_found",
            "no such agreement",
        ));
    };
    if status == AgreementStatus::Ended {
        return Err(ApiError::invalid(
            "agreement_id",
            "ended",
            "the agreement has ended",
        ));
    }
    let covered: i64 = ad::table
        .filter(ad::agreement_id.eq(&req.agreement_id))
        .filter(ad::drug_id.eq(&req.drug_id))
        .count()
        .get_result(conn)?;
    if covered == 0 {
        return Err(ApiError::invalid(
            "drug_id",
            "not_covered",
            "the agreement does not cover this drug",
        ));
    }
    let same: i64 = c::table
        .filter(c::agreement_id.eq(&req.agreement_id))
        .filter(c::drug_id.eq(&req.drug_id))
        .filter(lower(c::tumour_type).eq(plan.tumour_type.to_lowercase()))
        .filter(lower(c::alteration).eq(plan.alteration.to_lowercase()))
        .count()
        .get_result(conn)?;
    if same > 0 {
        return Err(ApiError::conflict(
            "the agreement already has a cohort for this drug, tumour type and alteration",
        ));
    }
    let t = now();
    diesel::insert_into(c::table)
        .values((
            c::id.eq(id),
            c::agreement_id.eq(&req.agreement_id),
            c::drug_id.eq(&req.drug_id),
            c::organisation_id.eq(&company),
            c::tumour_type.eq(&plan.tumour_type),
            c::alteration.eq(&plan.alteration),
            c::stage.eq(CohortStage::Stage1),
            c::status.eq(CohortStatus::Open),
            c::stage1_size.eq(plan.stage1_size),
            c::stage2_size.eq(plan.stage2_size),
            c::stage2_target.eq(plan.stage2_target),
            c::expansion_target.eq(plan.expansion_target),
            c::stage_limit.eq(plan.stage1_size),
            c::enrolled.eq(0),
            c::created_at.eq(t),
            c::updated_at.eq(t),
            c::version.eq(1),
        ))
        .execute(conn)?;
    plan::record_event(
        conn,
        plan::NewEvent {
            cohort_id: id,
            from: None,
            to: (CohortStage::Stage1, CohortStatus::Open),
            reason: Some("created"),
            counts: Counts::default(),
            actor_user_id: caller.author(),
        },
    )?;
    let cohort = find(conn, id)?;
    audit::created(conn, &caller.actor(), "cohort", id, &cohort)?;
    Ok(cohort)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ce)]
struct EventRow {
    id: Id,
    from_stage: Option<CohortStage>,
    to_stage: CohortStage,
    from_status: Option<CohortStatus>,
    to_status: CohortStatus,
    reason: Option<String>,
    enrolled: i32,
    benefits: i32,
    actor_user_id: Option<Id>,
    occurred_at: NaiveDateTime,
}

/// The cohort's history, oldest first.
pub fn history(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Vec<CohortEvent>, ApiError> {
    let row = find_row(conn, id)?;
    policy::see_cohort(caller, &row.organisation_id)?;
    let rows: Vec<EventRow> = ce::table
        .filter(ce::cohort_id.eq(id))
        .order((ce::occurred_at.asc(), ce::id.asc()))
        .select(EventRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| CohortEvent {
            id: r.id,
            from_stage: r.from_stage,
            to_stage: r.to_stage,
            from_status: r.from_status,
            to_status: r.to_status,
            reason: r.reason,
            enrolled: r.enrolled,
            benefits: r.benefits,
            actor_user_id: r.actor_user_id,
            occurred_at: r.occurred_at.and_utc(),
        })
        .collect())
}

#[derive(Debug, Default, Clone)]
pub struct CohortsFilter {
    pub agreement_id: Option<Id>,
    pub drug_id: Option<Id>,
    pub organisation_id: Option<Id>,
    pub stage: Option<CohortStage>,
    pub status: Option<CohortStatus>,
    pub q: Option<String>,
}

/// Sorted by tumour type.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &CohortsFilter,
    page: &PageRequest,
) -> Result<Page<Cohort>, ApiError> {
    let mut q = c::table.select(CohortRow::as_select()).into_boxed();
    if let Some(own) = policy::cohorts_listed(caller) {
        q = q.filter(c::organisation_id.eq(own));
    }
    if let Some(v) = &f.agreement_id {
        q = q.filter(c::agreement_id.eq(v.clone()));
    }
    if let Some(v) = &f.drug_id {
        q = q.filter(c::drug_id.eq(v.clone()));
    }
    if let Some(v) = &f.organisation_id {
        q = q.filter(c::organisation_id.eq(v.clone()));
    }
    if let Some(v) = f.stage {
        q = q.filter(c::stage.eq(v));
    }
    if let Some(v) = f.status {
        q = q.filter(c::status.eq(v));
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = like_pattern(text);
        q = q.filter(
            fold_case(c::tumour_type.nullable())
                .like(pattern.clone())
                .escape('\\')
                .or(fold_case(c::alteration.nullable())
                    .like(pattern)
                    .escape('\\')),
        );
    }
    let q = seek_after!(q, page.after_two(), c::tumour_type, c::id);
    let rows: Vec<CohortRow> = q
        .order((c::tumour_type.asc(), c::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut n = counts(conn, &ids)?;
    let cohorts: Vec<Cohort> = rows
        .into_iter()
        .map(|r| {
            let counts = n.remove(r.id.as_str()).unwrap_or_default();
            r.into_cohort(counts)
        })
        .collect();
    Ok(page.page(
        cohorts,
        |r| vec![r.tumour_type.clone(), r.id.to_string()],
        |r| r,
    ))
}
