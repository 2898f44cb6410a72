//! Starting, evaluating and withdrawing patients. Every write runs inside the caller's
//! transaction and writes its audit event (and any e-mail it causes) there too.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::caps::{self, Names};
use super::model::{
    Allocation, AllocationStatus, CohortStage, CreateAllocation, FundingPeriod, Outcome, Payer,
    RecordEvaluation, WithdrawAllocation, check_create, evaluation_due, validate_evaluation,
    validate_withdrawal,
};
use super::repo::{find, get_visible};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{AgreementStatus, CohortStatus, Id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::Mailer;
use crate::schema::{
    agreement_drugs as ad, agreements as ag, allocation_funding as af, allocations as a,
    cohorts as c, drugs as d, organisations as o,
};
use crate::validation::Validator;
use crate::webhooks::{self, EventType};

/// What an allocation needs of its agreement.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ag)]
pub struct AgreementTerms {
    pub id: Id,
    pub organisation_id: Id,
    pub reference: String,
    pub status: AgreementStatus,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub funded_weeks: i32,
}

/// Loads an agreement's terms regardless of who asks (404 when it does not exist).
pub fn agreement_terms(conn: &mut DbConn, id: &str) -> Result<AgreementTerms, ApiError> {
    Ok(ag::table
        .filter(ag::id.eq(id))
        .select(AgreementTerms::as_select())
        .first(conn)?)
}

/// What an allocation needs of its cohort.
#[derive(Queryable, Selectable)]
#[diesel(table_name = c)]
struct CohortFacts {
    agreement_id: Id,
    drug_id: Id,
    tumour_type: String,
    alteration: String,
    stage: CohortStage,
    status: CohortStatus,
    stage_limit: i32,
    enrolled: i32,
}

impl CohortFacts {
    fn name(&self) -> String {
        format!("{}, {}", self.tumour_type, self.alteration)
    }
}

#[derive(Insertable)]
#[diesel(table_name = a)]
struct NewAllocation<'a> {
    id: &'a str,
    agreement_id: &'a str,
    organisation_id: &'a str,
    drug_id: &'a str,
    site_id: &'a str,
    cohort_id: &'a str,
    trial_code: &'a str,
    cohort_stage: CohortStage,
    started_on: NaiveDate,
    evaluation_due: NaiveDate,
    outcome: Outcome,
    status: AllocationStatus,
    created_by: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

#[derive(Insertable)]
#[diesel(table_name = af)]
struct NewFunding<'a> {
    allocation_id: &'a str,
    payer: Payer,
    from_date: NaiveDate,
    to_date: Option<NaiveDate>,
}

/// Lets the cohorts module apply its stage rule now that enrolment or outcomes changed.
fn reassess(
    conn: &mut DbConn,
    mailer: &Mailer,
    cohort_id: &str,
    caller: &Caller,
) -> Result<(), ApiError> {
    crate::cohorts::repo::reassess(conn, mailer, cohort_id, caller.author())?;
    Ok(())
}

/// The rules of a new allocation that need the database, as field errors; the drug's generic
/// name when they pass.
fn check_references(
    conn: &mut DbConn,
    terms: &AgreementTerms,
    body: &CreateAllocation,
    cohort: Option<&CohortFacts>,
    today: NaiveDate,
) -> Result<String, ApiError> {
    let mut v = Validator::new();
    check_create(&mut v, body, today);
    let site: Option<(bool, Option<NaiveDateTime>)> = o::table
        .filter(o::id.eq(&body.site_id))
        .select((o::trial_site, o::archived_at))
        .first(conn)
        .optional()?;
    match site {
        None => v.add("site_id", "not_found", "no such organisation"),
        Some((true, None)) => {}
        Some(_) => v.add(
            "site_id",
            "not_a_trial_site",
            "the organisation is not a trial site",
        ),
    }
    let covered: Option<String> = ad::table
        .inner_join(d::table)
        .filter(ad::agreement_id.eq(&terms.id))
        .filter(ad::drug_id.eq(&body.drug_id))
        .select(d::generic_name)
        .load(conn)?
        .into_iter()
        .next();
    v.check(
        covered.is_some(),
        "drug_id",
        "not_covered",
        "the agreement does not cover this drug",
    );
    match cohort {
        None => v.add("cohort_id", "not_found", "no such cohort"),
        Some(c) if c.agreement_id != terms.id => v.add(
            "cohort_id",
            "other_agreement",
            "the cohort belongs to another agreement",
        ),
        Some(c) if c.drug_id != body.drug_id => v.add(
            "cohort_id",
            "other_drug",
            "the cohort treats its patients with another drug",
        ),
        Some(_) => {}
    }
    if let Some(from) = terms.effective_from {
        v.check(
            body.started_on >= from,
            "started_on",
            "outside_agreement",
            format!("the agreement is in effect from {from}"),
        );
    }
    if let Some(to) = terms.effective_to {
        v.check(
            body.started_on <= to,
            "started_on",
            "outside_agreement",
            format!("the agreement was in effect until {to}"),
        );
    }
    v.finish()?;
    covered.ok_or(ApiError::NotFound)
}

/// Starts a patient under an agreement (see the module docs of [`super::caps`]).
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    agreement_id: &str,
    body: CreateAllocation,
    today: NaiveDate,
) -> Result<Allocation, ApiError> {
    let terms = agreement_terms(conn, agreement_id)?;
    policy::start_patient(caller, &terms.organisation_id, &body.site_id)?;
    // An agreement that takes no patients says so first: for one not yet in effect, every start
    // date would otherwise be refused as in the future or before its effective date.
    if !caps::takes_patients(
        terms.status,
        terms.effective_from,
        terms.effective_to,
        today,
    ) {
        return Err(caps::not_taking(
            &terms.reference,
            terms.status,
            terms.effective_from,
            terms.effective_to,
            today,
        ));
    }
    let cohort: Option<CohortFacts> = c::table
        .filter(c::id.eq(&body.cohort_id))
        .select(CohortFacts::as_select())
        .first(conn)
        .optional()?;
    let drug = check_references(conn, &terms, &body, cohort.as_ref(), today)?;
    let Some(cohort) = cohort else {
        return Err(ApiError::NotFound);
    };
    if !caps::cohort_takes_patients(cohort.status) {
        return Err(caps::cohort_refusal(
            &cohort.name(),
            cohort.stage,
            cohort.status,
            cohort.enrolled,
            cohort.stage_limit,
        ));
    }
    let trial_code = body.trial_code.trim();
    let taken: i64 = a::table
        .filter(crate::db::functions::lower(a::trial_code).eq(trial_code.to_lowercase()))
        .filter(a::status.eq(AllocationStatus::Active))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::conflict(
            "a patient with this trial code is already allocated",
        ));
    }
    let names = Names {
        agreement_id: &terms.id,
        reference: &terms.reference,
        company_id: &terms.organisation_id,
        drug_id: &body.drug_id,
        drug: &drug,
    };
    let id = Id::new();
    let t = now();
    let due = evaluation_due(body.started_on, terms.funded_weeks);
    diesel::insert_into(a::table)
        .values(NewAllocation {
            id: &id,
            agreement_id: &terms.id,
            organisation_id: &terms.organisation_id,
            drug_id: &body.drug_id,
            site_id: &body.site_id,
            cohort_id: &body.cohort_id,
            trial_code,
            cohort_stage: cohort.stage,
            started_on: body.started_on,
            evaluation_due: due,
            outcome: Outcome::Pending,
            status: AllocationStatus::Active,
            created_by: caller.author(),
            created_at: t,
            updated_at: t,
            version: 1,
        })
        .execute(conn)?;
    diesel::insert_into(af::table)
        .values(NewFunding {
            allocation_id: &id,
            payer: Payer::Company,
            from_date: body.started_on,
            to_date: Some(due),
        })
        .execute(conn)?;
    // As stored (the clock keeps what the databases keep), without reading it back.
    let allocation = Allocation {
        id: id.clone(),
        agreement_id: terms.id.clone(),
        organisation_id: terms.organisation_id.clone(),
        drug_id: body.drug_id.clone(),
        site_id: body.site_id.clone(),
        cohort_id: body.cohort_id.clone(),
        trial_code: trial_code.to_owned(),
        cohort_stage: cohort.stage,
        started_on: body.started_on,
        evaluation_due: due,
        outcome: Outcome::Pending,
        evaluated_on: None,
        status: AllocationStatus::Active,
        withdrawn_reason: None,
        funding: vec![FundingPeriod {
            payer: Payer::Company,
            from_date: body.started_on,
            to_date: Some(due),
        }],
        created_at: t.and_utc(),
        updated_at: t.and_utc(),
        version: 1,
    };
    audit::created(conn, &caller.actor(), "allocation", &id, &allocation)?;
    webhooks::emit(
        conn,
        EventType::AllocationCreated,
        json!({
            "allocation_id": id,
            "agreement_id": allocation.agreement_id,
            "organisation_id": allocation.organisation_id,
            "drug_id": allocation.drug_id,
            "cohort_id": allocation.cohort_id,
            "site_id": allocation.site_id,
            "trial_code": allocation.trial_code,
            "cohort_stage": allocation.cohort_stage,
            "started_on": allocation.started_on,
            "evaluation_due": allocation.evaluation_due,
        }),
    )?;
    // The caps last: each counter's row stays locked from its update to the commit, so what need
    // not follow them comes before (simultaneous allocations wait for one another only here).
    let taken = caps::take_slot(conn, &names, &body.cohort_id, &cohort.name(), today)?;
    caps::notify_thresholds(conn, mailer, &names, &taken)?;
    // A new patient changes a cohort's stage only by filling it (benefits, pending and places
    // left add up as before).
    if taken.stage_full {
        reassess(conn, mailer, &body.cohort_id, caller)?;
    }
    Ok(allocation)
}

/// An allocation the caller may act on: visible (404), theirs to act for (403), still active (409).
fn actionable(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Allocation, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::act_for_site(caller, &before.site_id)?;
    if before.status == AllocationStatus::Withdrawn {
        return Err(ApiError::conflict("the allocation is withdrawn"));
    }
    Ok(before)
}

/// Records a patient's week-16 outcome. A patient with benefit who started in an expansion stage
/// moves to public funding from the evaluation's date.
pub fn evaluate(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    body: RecordEvaluation,
    today: NaiveDate,
) -> Result<Allocation, ApiError> {
    let before = actionable(conn, caller, id)?;
    validate_evaluation(&body, before.started_on, today)?;
    let outcome = Outcome::from(body.outcome);
    if before.outcome != Outcome::Pending {
        return Err(ApiError::conflict(format!(
            "the outcome is already recorded ({} on {})",
            before.outcome.as_str(),
            before
                .evaluated_on
                .map(|d| d.to_string())
                .unwrap_or_default()
        )));
    }
    let updated = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::version.eq(before.version))
            .filter(a::outcome.eq(Outcome::Pending)),
    )
    .set((
        a::outcome.eq(outcome),
        a::evaluated_on.eq(body.evaluated_on),
        a::updated_at.eq(now()),
        a::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict(
            "the allocation changed meanwhile; reload and try again",
        ));
    }
    let public = outcome.is_benefit() && before.cohort_stage == CohortStage::Expansion;
    if public {
        diesel::update(
            af::table
                .filter(af::allocation_id.eq(id))
                .filter(af::payer.eq(Payer::Company)),
        )
        .set(af::to_date.eq(body.evaluated_on))
        .execute(conn)?;
        diesel::insert_into(af::table)
            .values(NewFunding {
                allocation_id: id,
                payer: Payer::Public,
                from_date: body.evaluated_on,
                to_date: None,
            })
            .execute(conn)?;
    }
    audit::record(
        conn,
        &caller.actor(),
        "allocation.evaluated",
        "allocation",
        id,
        json!({
            "outcome": {"from": before.outcome, "to": outcome},
            "evaluated_on": {"from": null, "to": body.evaluated_on},
            "public_funding_from": public.then_some(body.evaluated_on),
        }),
    )?;
    reassess(conn, mailer, &before.cohort_id, caller)?;
    find(conn, id)
}

/// Withdraws an allocation entered by mistake: its slots are free again.
pub fn withdraw(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    body: WithdrawAllocation,
) -> Result<Allocation, ApiError> {
    let before = actionable(conn, caller, id)?;
    validate_withdrawal(&body)?;
    let reason = body.reason.trim();
    let updated = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::status.eq(AllocationStatus::Active)),
    )
    .set((
        a::status.eq(AllocationStatus::Withdrawn),
        a::withdrawn_reason.eq(reason),
        a::updated_at.eq(now()),
        a::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict("the allocation is withdrawn"));
    }
    caps::free_slot(
        conn,
        &before.agreement_id,
        &before.drug_id,
        &before.cohort_id,
    )?;
    audit::record(
        conn,
        &caller.actor(),
        "allocation.withdrawn",
        "allocation",
        id,
        json!({
            "status": {"from": AllocationStatus::Active, "to": AllocationStatus::Withdrawn},
            "withdrawn_reason": {"from": null, "to": reason},
        }),
    )?;
    reassess(conn, mailer, &before.cohort_id, caller)?;
    find(conn, id)
}
