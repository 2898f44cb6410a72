//! `connect seed bulk`: synthetic data for benchmarks, inserted in batches straight into the tables
//! (the API's rules are not what a benchmark's set-up measures).

use chrono::{Days, NaiveDate};
use diesel::prelude::*;

use crate::core::{
    AgreementStatus, AllocationStatus, CohortStage, CohortStatus, DrugStatus, Outcome, Payer,
    new_id, now,
};
use crate::db::{Db, DbConn, write_tx};
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

/// What `connect seed bulk --allocations N` made: N patients of a synthetic company, spread over
/// agreements of [`PER_AGREEMENT`] patients each (as a consortium's would be), with six sites and
/// ten cohorts per agreement. Patients whose evaluation fell due more than two weeks ago have an
/// outcome, as sites record them; the rest are pending. The first agreement, whose ids are
/// returned, has room for far more patients, and its last cohort is an open expansion cohort with
/// room to spare, for the allocation benchmark's new patients.
#[derive(Debug, Clone)]
pub struct BulkAllocations {
    pub added: usize,
    pub agreements: usize,
    pub agreement_id: String,
    pub drug_id: String,
    pub site_id: String,
    pub cohort_id: String,
}

const BULK_SITES: usize = 6;
/// Patients per synthetic agreement.
pub const PER_AGREEMENT: usize = 5_000;
const COHORTS_PER_AGREEMENT: usize = 10;
/// Room left for new patients in the first agreement and in its open cohort.
const BULK_HEADROOM: i32 = 10_000_000;

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Inserts `n` allocations (see [`BulkAllocations`]).
pub fn bulk_allocations(db: &Db, n: usize) -> Result<BulkAllocations, ApiError> {
    let mut conn = db.pool().get().map_err(ApiError::from_pool)?;
    let today = now().date();
    let start = today
        .checked_sub_days(Days::new(365))
        .unwrap_or(NaiveDate::MIN);
    let recorded_before = today.checked_sub_days(Days::new(14)).unwrap_or(today);
    let suffix = new_id()[24..].to_owned();
    let (company, drug) = (new_id(), new_id());
    let sites: Vec<String> = (0..BULK_SITES).map(|_| new_id()).collect();
    let n_agreements = n.div_ceil(PER_AGREEMENT).max(1);
    let agreements: Vec<String> = (0..n_agreements).map(|_| new_id()).collect();
    // Cohorts per agreement, and the patients each gets.
    let cohorts: Vec<Vec<String>> = agreements
        .iter()
        .map(|_| (0..COHORTS_PER_AGREEMENT).map(|_| new_id()).collect())
        .collect();
    let patients_of = |k: usize| n.saturating_sub(k * PER_AGREEMENT).min(PER_AGREEMENT);
    let per_cohort = PER_AGREEMENT.div_ceil(COHORTS_PER_AGREEMENT);
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
        for (k, agreement) in agreements.iter().enumerate() {
            let used = count(patients_of(k));
            let cap = if k == 0 {
                used.saturating_add(BULK_HEADROOM)
            } else {
                used.max(1)
            };
            diesel::insert_into(a::table)
                .values((
                    a::id.eq(agreement),
                    a::organisation_id.eq(&company),
                    a::reference.eq(format!("BENCH-{suffix}-{k:03}")),
                    a::title.eq("Benchmark agreement"),
                    a::status.eq(AgreementStatus::Active),
                    a::effective_from.eq(start),
                    a::patient_cap.eq(cap),
                    a::patients_used.eq(used),
                    a::funded_weeks.eq(16),
                    a::documents.eq("[]"),
                    a::created_at.eq(t),
                    a::updated_at.eq(t),
                    a::version.eq(1),
                ))
                .execute(conn)?;
            diesel::insert_into(ad::table)
                .values((
                    ad::agreement_id.eq(agreement),
                    ad::drug_id.eq(&drug),
                    ad::patients_used.eq(used),
                    ad::added_at.eq(t),
                ))
                .execute(conn)?;
            for (i, cohort) in cohorts[k].iter().enumerate() {
                let open = k == 0 && i + 1 == COHORTS_PER_AGREEMENT;
                let enrolled = count(per_cohort.min(patients_of(k).saturating_sub(i * per_cohort)));
                let size = enrolled.max(24);
                diesel::insert_into(c::table)
                    .values((
                        c::id.eq(cohort),
                        c::agreement_id.eq(agreement),
                        c::drug_id.eq(&drug),
                        c::organisation_id.eq(&company),
                        c::tumour_type.eq(format!("tumour type {i}")),
                        c::alteration.eq(format!("alteration {k}.{i}")),
                        c::stage.eq(if open {
                            CohortStage::Expansion
                        } else {
                            CohortStage::Stage2
                        }),
                        c::status.eq(if open {
                            CohortStatus::Open
                        } else {
                            CohortStatus::AwaitingEvaluation
                        }),
                        c::stage2_size.eq(size),
                        c::expansion_size.eq(open.then_some(BULK_HEADROOM)),
                        c::stage_limit.eq(if open {
                            size.saturating_add(BULK_HEADROOM)
                        } else {
                            size
                        }),
                        c::enrolled.eq(enrolled),
                        c::created_at.eq(t),
                        c::updated_at.eq(t),
                        c::version.eq(1),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })?;
    let outcomes = [
        Outcome::StableDisease,
        Outcome::ProgressiveDisease,
        Outcome::PartialResponse,
        Outcome::ProgressiveDisease,
        Outcome::NotEvaluable,
        Outcome::Discontinued,
    ];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(1000);
        write_tx(&mut conn, |conn| {
            let t = now();
            for i in done..done + batch {
                let (k, j) = (i / PER_AGREEMENT, i % PER_AGREEMENT);
                let id = new_id();
                let started = start
                    .checked_add_days(Days::new((i % 350) as u64))
                    .unwrap_or(start);
                let due = started
                    .checked_add_days(Days::new(16 * 7))
                    .unwrap_or(started);
                let outcome = if due < recorded_before {
                    outcomes[i % outcomes.len()]
                } else {
                    Outcome::Pending
                };
                diesel::insert_into(al::table)
                    .values((
                        al::id.eq(&id),
                        al::agreement_id.eq(&agreements[k]),
                        al::organisation_id.eq(&company),
                        al::drug_id.eq(&drug),
                        al::site_id.eq(&sites[i % sites.len()]),
                        al::cohort_id
                            .eq(&cohorts[k][(j / per_cohort).min(COHORTS_PER_AGREEMENT - 1)]),
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
    // What autovacuum (off on the benchmark machine) would do soon after a load: statistics for
    // the planner and, on PostgreSQL, the visibility map that lets index-only scans skip the heap.
    let settle = match &*conn {
        DbConn::Sqlite(_) => "ANALYZE",
        DbConn::Pg(_) => "VACUUM ANALYZE",
    };
    diesel::sql_query(settle).execute(&mut *conn)?;
    Ok(BulkAllocations {
        added: done,
        agreements: n_agreements,
        agreement_id: agreements.first().cloned().unwrap_or_default(),
        drug_id: drug,
        site_id: sites.first().cloned().unwrap_or_default(),
        cohort_id: cohorts
            .first()
            .and_then(|c| c.last())
            .cloned()
            .unwrap_or_default(),
    })
}
