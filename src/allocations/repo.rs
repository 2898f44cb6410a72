//! `allocations` in the database: reading them (one, a page, an export). The writes are in
//! [`super::write`], the caps in [`super::caps`], usage in [`super::usage`], the weekly digest in
//! [`super::digest`].

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Allocation, AllocationStatus, CohortStage, FundingPeriod, Outcome, Payer};
use crate::auth::Caller;
use crate::auth::policy::{self, AllocationFacts};
use crate::core::Id;
use crate::db::{DbConn, seek_after};
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::schema::{allocation_funding as af, allocations as a};

/// An allocation as stored (its funding periods are read separately).
#[derive(Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct AllocationRow {
    pub id: Id,
    pub agreement_id: Id,
    pub organisation_id: Id,
    pub drug_id: Id,
    pub site_id: Id,
    pub cohort_id: Id,
    pub trial_code: String,
    pub cohort_stage: CohortStage,
    pub started_on: NaiveDate,
    pub evaluation_due: NaiveDate,
    pub outcome: Outcome,
    pub evaluated_on: Option<NaiveDate>,
    pub status: AllocationStatus,
    pub withdrawn_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl AllocationRow {
    pub fn into_allocation(self, funding: Vec<FundingPeriod>) -> Allocation {
        Allocation {
            id: self.id,
            agreement_id: self.agreement_id,
            organisation_id: self.organisation_id,
            drug_id: self.drug_id,
            site_id: self.site_id,
            cohort_id: self.cohort_id,
            trial_code: self.trial_code,
            cohort_stage: self.cohort_stage,
            started_on: self.started_on,
            evaluation_due: self.evaluation_due,
            outcome: self.outcome,
            evaluated_on: self.evaluated_on,
            status: self.status,
            withdrawn_reason: self.withdrawn_reason,
            funding,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

impl Allocation {
    pub fn facts(&self) -> AllocationFacts<'_> {
        AllocationFacts {
            company_id: &self.organisation_id,
            site_id: &self.site_id,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = af)]
struct FundingRow {
    allocation_id: String,
    payer: Payer,
    from_date: NaiveDate,
    to_date: Option<NaiveDate>,
}

/// The funding periods of the given allocations, each's oldest first.
fn funding_of(
    conn: &mut DbConn,
    ids: &[&str],
) -> Result<HashMap<String, Vec<FundingPeriod>>, ApiError> {
    let mut out: HashMap<String, Vec<FundingPeriod>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<FundingRow> = af::table
        .filter(af::allocation_id.eq_any(ids))
        .order((af::allocation_id, af::from_date, af::payer))
        .select(FundingRow::as_select())
        .load(conn)?;
    for r in rows {
        out.entry(r.allocation_id).or_default().push(FundingPeriod {
            payer: r.payer,
            from_date: r.from_date,
            to_date: r.to_date,
        });
    }
    Ok(out)
}

fn with_funding(conn: &mut DbConn, rows: Vec<AllocationRow>) -> Result<Vec<Allocation>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut funding = funding_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let f = funding.remove(r.id.as_str()).unwrap_or_default();
            r.into_allocation(f)
        })
        .collect())
}

/// Loads an allocation regardless of who asks (404 when it does not exist).
pub fn find(conn: &mut DbConn, id: &str) -> Result<Allocation, ApiError> {
    let row = a::table
        .filter(a::id.eq(id))
        .select(AllocationRow::as_select())
        .first::<AllocationRow>(conn)?;
    Ok(with_funding(conn, vec![row])?.remove(0))
}

/// Loads an allocation the caller may see (404 otherwise).
pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Allocation, ApiError> {
    let allocation = find(conn, id)?;
    policy::see_allocation(caller, &allocation.facts())?;
    Ok(allocation)
}

/// The filters of the allocation lists.
#[derive(Debug, Default, Clone)]
pub struct AllocationsFilter {
    pub agreement_id: Option<Id>,
    pub site_id: Option<Id>,
    pub cohort_id: Option<Id>,
    pub drug_id: Option<Id>,
    pub outcome: Option<Outcome>,
    pub status: Option<AllocationStatus>,
    /// Evaluation due before this date (exclusive).
    pub due_before: Option<NaiveDate>,
}

type Boxed<'a> = a::BoxedQuery<'a, crate::db::MultiBackend>;

/// The allocations the caller may see that match the filter.
fn filtered<'a>(caller: &Caller, f: &AllocationsFilter) -> Boxed<'a> {
    let mut q = a::table.into_boxed();
    if let Some(org) = policy::allocations_listed(caller) {
        q = q.filter(a::organisation_id.eq(org.clone()).or(a::site_id.eq(org)));
    }
    if let Some(v) = &f.agreement_id {
        q = q.filter(a::agreement_id.eq(v.clone()));
    }
    if let Some(v) = &f.site_id {
        q = q.filter(a::site_id.eq(v.clone()));
    }
    if let Some(v) = &f.cohort_id {
        q = q.filter(a::cohort_id.eq(v.clone()));
    }
    if let Some(v) = &f.drug_id {
        q = q.filter(a::drug_id.eq(v.clone()));
    }
    if let Some(v) = f.outcome {
        q = q.filter(a::outcome.eq(v));
    }
    if let Some(v) = f.status {
        q = q.filter(a::status.eq(v));
    }
    if let Some(v) = f.due_before {
        q = q.filter(a::evaluation_due.lt(v));
    }
    q
}

/// The cursor key of a row: its creation time (as stored, to the microsecond) and id.
fn key(a: &Allocation) -> Vec<String> {
    vec![
        a.created_at
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string(),
        a.id.to_string(),
    ]
}

/// A page of the allocations the caller may see, oldest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &AllocationsFilter,
    page: &PageRequest,
) -> Result<Page<Allocation>, ApiError> {
    let after = page.after_keyed::<NaiveDateTime>()?;
    let q = seek_after!(
        filtered(caller, f),
        after.as_ref().map(|(t, id)| (t, *id)),
        a::created_at,
        a::id
    );
    let rows: Vec<AllocationRow> = q
        .order((a::created_at.asc(), a::id.asc()))
        .limit(page.fetch())
        .select(AllocationRow::as_select())
        .load(conn)?;
    let allocations = with_funding(conn, rows)?;
    Ok(page.page(allocations, key, |r| r))
}

/// Every allocation the caller may see that matches the filter (for CSV export), oldest first,
/// without funding periods.
pub fn export(
    conn: &mut DbConn,
    caller: &Caller,
    f: &AllocationsFilter,
) -> Result<Vec<Allocation>, ApiError> {
    let rows: Vec<AllocationRow> = filtered(caller, f)
        .order((a::created_at.asc(), a::id.asc()))
        .limit(200_000)
        .select(AllocationRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_allocation(vec![]))
        .collect())
}

/// 404 unless the caller may list the agreement's allocations: admins and the owning company, or
/// a trial site's representatives (who see their own site's patients only).
pub fn check_agreement_list(
    conn: &mut DbConn,
    caller: &Caller,
    agreement_id: &str,
) -> Result<(), ApiError> {
    use crate::schema::{agreements as ag, organisations as o};
    let company: String = ag::table
        .filter(ag::id.eq(agreement_id))
        .select(ag::organisation_id)
        .first(conn)?;
    let caller_is_site = match &caller.organisation_id {
        Some(org) => o::table
            .filter(o::id.eq(org))
            .select(o::trial_site)
            .first::<bool>(conn)
            .optional()?
            .unwrap_or(false),
        None => false,
    };
    policy::see_agreement_allocations(caller, &company, caller_is_site)
}
