//! `connect seed bulk`: synthetic data for benchmarks, inserted in batches straight into the tables
//! (the API's rules are not what a benchmark's set-up measures).

use chrono::{Days, NaiveDate};
use diesel::prelude::*;

use crate::core::{
    AgreementStatus, AllocationStatus, CohortStage, CohortStatus, DrugStatus, Outcome, Payer,
    new_id, now,
};
use crate::db::{Db, write_tx};
use crate::error::ApiError;
use crate::organisations::model::{HealthRegion, MembershipStatus, OrganisationKind, Sector};
use crate::schema::{
    agreement_drugs as ad, agreements as a, allocation_funding as af, allocations as al,
    cohorts as c, drugs as d, organisations as o,
};

/// Inserts `n` synthetic organisations (a third of them partners) for benchmarks, in batches.
pub fn bulk(db: &Db, n: usize) -> Result<usize, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let kinds = [
        OrganisationKind::Pharma,
        OrganisationKind::Biotech,
        OrganisationKind::Hospital,
        OrganisationKind::University,
        OrganisationKind::Technology,
        OrganisationKind::Other,
    ];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            for i in done..done + batch {
                let t = now();
                let kind = kinds[i % kinds.len()];
                diesel::insert_into(o::table)
                    .values((
                        o::id.eq(new_id()),
                        o::name.eq(format!("Bench Organisation {i:06}")),
                        o::kind.eq(kind.as_str()),
                        o::sector.eq(Sector::Private.as_str()),
                        o::country.eq("NO"),
                        o::health_region.eq((kind == OrganisationKind::Hospital)
                            .then_some(HealthRegion::SouthEast.as_str())),
                        o::trial_site.eq(kind == OrganisationKind::Hospital),
                        o::membership_status.eq(if i % 3 == 0 {
                            MembershipStatus::Partner
                        } else {
                            MembershipStatus::None
                        }
                        .as_str()),
                        o::founding_partner.eq(false),
                        o::created_at.eq(t),
                        o::updated_at.eq(t),
                        o::version.eq(1),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(done)
}

/// Queues `n` rendered messages (to synthetic addresses) for benchmarks, in batches.
pub fn bulk_notifications(
    db: &Db,
    mailer: &crate::notifications::Mailer,
    n: usize,
) -> Result<usize, ApiError> {
    use crate::notifications::{Kind, Language, Recipient, enqueue};
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            for i in done..done + batch {
                let to = Recipient {
                    email: format!("bench-{i:06}@example.org"),
                    name: Some(format!("Bench Recipient {i}")),
                    user_id: None,
                    language: if i % 2 == 0 {
                        Language::Nb
                    } else {
                        Language::En
                    },
                };
                enqueue(
                    conn,
                    mailer,
                    Kind::PasswordChanged,
                    &to,
                    serde_json::json!({"changed_at": "2026-11-23 10:15 UTC"}),
                )?;
            }
            Ok(())
        })?;
        done += batch;
    }
    Ok(done)
}

/// What `connect seed bulk --allocations N` made: one active agreement of a synthetic company with
/// room for far more patients than N, its drug, sites and cohorts, and N allocations spread over
/// them. The last cohort is an open expansion cohort with room to spare, for the allocation
/// benchmark's new patients.
#[derive(Debug, Clone)]
pub struct BulkAllocations {
    pub added: usize,
    pub agreement_id: String,
    pub drug_id: String,
    pub site_id: String,
    pub cohort_id: String,
}

const BULK_SITES: usize = 6;
const BULK_COHORTS: usize = 50;
/// Room left for new patients in the agreement and in the benchmark's open cohort.
const BULK_HEADROOM: i32 = 10_000_000;

/// Inserts an agreement with `n` allocations (see [`BulkAllocations`]).
pub fn bulk_allocations(db: &Db, n: usize) -> Result<BulkAllocations, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let today = now().date();
    let start = today
        .checked_sub_days(Days::new(365))
        .unwrap_or(NaiveDate::MIN);
    let suffix = &new_id()[24..];
    let (company, drug, agreement) = (new_id(), new_id(), new_id());
    let sites: Vec<String> = (0..BULK_SITES).map(|_| new_id()).collect();
    let cohorts: Vec<String> = (0..BULK_COHORTS).map(|_| new_id()).collect();
    let n_i32 = i32::try_from(n).map_err(|_| ApiError::internal("too many allocations"))?;
    let per_cohort = n.div_ceil(BULK_COHORTS.max(1));
    write_tx(&mut conn, |conn| {
        let t = now();
        let org = |id: &str, name: String, kind: OrganisationKind, site: bool| {
            (
                o::id.eq(id.to_owned()),
                o::name.eq(name),
                o::kind.eq(kind.as_str()),
                o::sector.eq(Sector::Private.as_str()),
                o::country.eq("NO"),
                o::health_region.eq(site.then_some(HealthRegion::SouthEast.as_str())),
                o::trial_site.eq(site),
                o::membership_status.eq(MembershipStatus::Partner.as_str()),
                o::founding_partner.eq(false),
                o::created_at.eq(t),
                o::updated_at.eq(t),
                o::version.eq(1),
            )
        };
        diesel::insert_into(o::table)
            .values(org(
                &company,
                format!("Bench Pharma {suffix}"),
                OrganisationKind::Pharma,
                false,
            ))
            .execute(conn)?;
        for (i, site) in sites.iter().enumerate() {
            diesel::insert_into(o::table)
                .values(org(
                    site,
                    format!("Bench Hospital {suffix} {i}"),
                    OrganisationKind::Hospital,
                    true,
                ))
                .execute(conn)?;
        }
        diesel::insert_into(d::table)
            .values((
                d::id.eq(&drug),
                d::organisation_id.eq(&company),
                d::generic_name.eq(format!("benchinib {suffix}")),
                d::atc_code.eq("L01EX99"),
                d::status.eq(DrugStatus::Available),
                d::available_from.eq(start),
                d::created_at.eq(t),
                d::updated_at.eq(t),
                d::version.eq(1),
            ))
            .execute(conn)?;
        diesel::insert_into(a::table)
            .values((
                a::id.eq(&agreement),
                a::organisation_id.eq(&company),
                a::reference.eq(format!("BENCH-{suffix}")),
                a::title.eq("Benchmark agreement"),
                a::status.eq(AgreementStatus::Active),
                a::effective_from.eq(start),
                a::patient_cap.eq(n_i32.saturating_add(BULK_HEADROOM)),
                a::patients_used.eq(n_i32),
                a::funded_weeks.eq(16),
                a::documents.eq("[]"),
                a::created_at.eq(t),
                a::updated_at.eq(t),
                a::version.eq(1),
            ))
            .execute(conn)?;
        diesel::insert_into(ad::table)
            .values((
                ad::agreement_id.eq(&agreement),
                ad::drug_id.eq(&drug),
                ad::patients_used.eq(n_i32),
                ad::added_at.eq(t),
            ))
            .execute(conn)?;
        for (i, cohort) in cohorts.iter().enumerate() {
            let last = i + 1 == cohorts.len();
            let enrolled = per_cohort.min(n.saturating_sub(i * per_cohort));
            let enrolled = i32::try_from(enrolled).unwrap_or(i32::MAX);
            diesel::insert_into(c::table)
                .values((
                    c::id.eq(cohort),
                    c::agreement_id.eq(&agreement),
                    c::drug_id.eq(&drug),
                    c::organisation_id.eq(&company),
                    c::tumour_type.eq(format!("tumour type {i}")),
                    c::alteration.eq(format!("alteration {i}")),
                    c::stage.eq(if last {
                        CohortStage::Expansion
                    } else {
                        CohortStage::Stage2
                    }),
                    c::status.eq(if last {
                        CohortStatus::Open
                    } else {
                        CohortStatus::AwaitingEvaluation
                    }),
                    c::stage2_size.eq(enrolled.max(24)),
                    c::expansion_target.eq(5),
                    c::expansion_size.eq(last.then_some(BULK_HEADROOM)),
                    c::stage_limit.eq(if last {
                        enrolled.saturating_add(BULK_HEADROOM)
                    } else {
                        enrolled.max(24)
                    }),
                    c::enrolled.eq(enrolled),
                    c::created_at.eq(t),
                    c::updated_at.eq(t),
                    c::version.eq(1),
                ))
                .execute(conn)?;
        }
        Ok(())
    })?;
    let outcomes = [
        Outcome::Pending,
        Outcome::StableDisease,
        Outcome::ProgressiveDisease,
        Outcome::PartialResponse,
        Outcome::Pending,
        Outcome::NotEvaluable,
    ];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            let t = now();
            for i in done..done + batch {
                let id = new_id();
                let started = start
                    .checked_add_days(Days::new((i % 330) as u64))
                    .unwrap_or(start);
                let due = started
                    .checked_add_days(Days::new(16 * 7))
                    .unwrap_or(started);
                let outcome = outcomes[i % outcomes.len()];
                diesel::insert_into(al::table)
                    .values((
                        al::id.eq(&id),
                        al::agreement_id.eq(&agreement),
                        al::organisation_id.eq(&company),
                        al::drug_id.eq(&drug),
                        al::site_id.eq(&sites[i % sites.len()]),
                        al::cohort_id.eq(&cohorts[(i / per_cohort.max(1)).min(cohorts.len() - 1)]),
                        al::trial_code.eq(format!("BENCH-{suffix}-{i:07}")),
                        al::cohort_stage.eq(CohortStage::Stage2),
                        al::started_on.eq(started),
                        al::evaluation_due.eq(due),
                        al::outcome.eq(outcome),
                        al::evaluated_on.eq((outcome != Outcome::Pending).then_some(due)),
                        al::status.eq(AllocationStatus::Active),
                        al::created_at.eq(t),
                        al::updated_at.eq(t),
                        al::version.eq(1),
                    ))
                    .execute(conn)?;
                diesel::insert_into(af::table)
                    .values((
                        af::allocation_id.eq(&id),
                        af::payer.eq(Payer::Company),
                        af::from_date.eq(started),
                        af::to_date.eq(due),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })?;
        done += batch;
    }
    // Statistics for the planner, as autovacuum (off on the benchmark machine) would gather.
    diesel::sql_query("ANALYZE").execute(&mut conn)?;
    Ok(BulkAllocations {
        added: done,
        agreement_id: agreement,
        drug_id: drug,
        site_id: sites.first().cloned().unwrap_or_default(),
        cohort_id: cohorts.last().cloned().unwrap_or_default(),
    })
}
