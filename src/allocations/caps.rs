//! The caps: an allocation takes one slot of the agreement's cap, of the drug's own cap within the
//! agreement (if it has one) and of the cohort's current stage, each by a conditional update of a
//! counter in the allocation's own transaction (and a CHECK on every counter behind it), so no cap
//! is ever exceeded, also not by simultaneous requests on several instances.
//!
//! The counters are always changed in the same order, agreements → agreement_drugs → cohorts (the
//! order the amendment code locks them in), so two transactions never wait on each other in a
//! cycle.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::json;

use crate::core::{AgreementStatus, CohortStage, CohortStatus, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::notifications::repo::company_and_secretariat;
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{agreement_drugs as ad, agreements as ag, cohorts as c, organisations as o};

/// What the refusals and notices name: the agreement and the drug.
pub struct Names<'a> {
    pub agreement_id: &'a str,
    pub reference: &'a str,
    pub company_id: &'a str,
    pub drug_id: &'a str,
    pub drug: &'a str,
}

/// Whether an agreement in this state takes new patients today.
pub fn takes_patients(
    status: AgreementStatus,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == AgreementStatus::Active
        && from.is_none_or(|f| f <= today)
        && to.is_none_or(|t| today <= t)
}

/// Why an agreement takes no patients, for the `not-taking-patients` problem.
pub fn not_taking(
    reference: &str,
    status: AgreementStatus,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> ApiError {
    let why = match status {
        AgreementStatus::Active => match (from, to) {
            (Some(f), _) if today < f => format!("is not in effect until {f}"),
            (_, Some(t)) if t < today => format!("ended its effective period on {t}"),
            _ => "is not in effect".to_owned(),
        },
        other => format!("is {}", other.as_str()),
    };
    ApiError::conflict_of(
        ProblemType::NotTakingPatients,
        format!("agreement {reference} {why}: it takes no new patients"),
    )
}

/// Whether a cohort in this status takes new patients (up to its stage's limit).
pub fn cohort_takes_patients(status: CohortStatus) -> bool {
    matches!(
        status,
        CohortStatus::Open | CohortStatus::EligibleForExpansion
    )
}

fn stage_label(stage: CohortStage) -> &'static str {
    match stage {
        CohortStage::Stage1 => "stage 1",
        CohortStage::Stage2 => "stage 2",
        CohortStage::Expansion => "the expansion stage",
        CohortStage::Closed => "the last stage",
    }
}

/// The refusal for a cohort that takes no patient now: full (`cap-reached`) or not open.
pub fn cohort_refusal(
    name: &str,
    stage: CohortStage,
    status: CohortStatus,
    enrolled: i32,
    limit: i32,
) -> ApiError {
    let full = enrolled >= limit;
    if full
        && matches!(
            status,
            CohortStatus::Open
                | CohortStatus::AwaitingEvaluation
                | CohortStatus::EligibleForExpansion
        )
    {
        ApiError::conflict_of(
            ProblemType::CapReached,
            format!(
                "{} of cohort {name} is full ({enrolled} of {limit} patients)",
                stage_label(stage)
            ),
        )
    } else {
        ApiError::conflict_of(
            ProblemType::NotTakingPatients,
            format!(
                "cohort {name} is {}: it takes no new patients",
                status.as_str().replace('_', " ")
            ),
        )
    }
}

/// The counters as one allocation left them (read back by the updates that raised them, so
/// nothing more is read while their rows are locked).
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub used: i32,
    pub cap: i32,
    pub drug_used: i32,
    pub drug_cap: Option<i32>,
    /// The cohort's stage is now full (its status may change).
    pub stage_full: bool,
}

/// The three counters raised in one statement on PostgreSQL, in the order of the module docs:
/// each update runs only when the one before it took its slot (`EXISTS`), so a refusal leaves
/// the later rows unlocked, and the transaction rolls back what the earlier ones raised. One
/// statement instead of three keeps the hottest lock (every patient of an agreement waits on
/// its row) for one round trip and the commit.
const TAKE_SLOT_PG: &str = "\
WITH ag AS (
  UPDATE agreements SET patients_used = patients_used + 1
  WHERE id = $1 AND status = $2 AND patients_used < patient_cap
    AND (effective_from IS NULL OR effective_from <= $3)
    AND (effective_to IS NULL OR effective_to >= $3)
  RETURNING patients_used, patient_cap),
d AS (
  UPDATE agreement_drugs SET patients_used = patients_used + 1
  WHERE agreement_id = $1 AND drug_id = $4
    AND (patient_cap IS NULL OR patients_used < patient_cap)
    AND EXISTS (SELECT 1 FROM ag)
  RETURNING patients_used, patient_cap),
c AS (
  UPDATE cohorts SET enrolled = enrolled + 1
  WHERE id = $5 AND status IN ($6, $7) AND enrolled < stage_limit
    AND EXISTS (SELECT 1 FROM d)
  RETURNING enrolled, stage_limit)
SELECT ag.patients_used AS used, ag.patient_cap AS cap,
  d.patients_used AS drug_used, d.patient_cap AS drug_cap,
  c.enrolled AS enrolled, c.stage_limit AS stage_limit
FROM ag LEFT JOIN d ON TRUE LEFT JOIN c ON TRUE";

/// What [`TAKE_SLOT_PG`] answers: no row when the agreement refused, no drug counter when the
/// drug did, no cohort counter when the cohort did.
#[derive(QueryableByName)]
struct TakenRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    used: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    cap: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    drug_used: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    drug_cap: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    enrolled: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    stage_limit: Option<i32>,
}

/// Which counter refused a slot, if any.
enum Slot {
    Taken(Taken),
    AgreementRefused,
    DrugRefused,
    CohortRefused,
}

/// Takes one slot of each cap, or answers why not (the transaction then rolls back).
pub fn take_slot(
    conn: &mut DbConn,
    names: &Names<'_>,
    cohort_id: &str,
    cohort_name: &str,
    today: NaiveDate,
) -> Result<Taken, ApiError> {
    let slot = match conn {
        DbConn::Pg(pg) => take_slot_pg(pg, names, cohort_id, today)?,
        DbConn::Sqlite(_) => take_slot_each(conn, names, cohort_id, today)?,
    };
    match slot {
        Slot::Taken(taken) => Ok(taken),
        Slot::AgreementRefused => Err(agreement_refusal(conn, names, today)?),
        Slot::DrugRefused => Err(drug_refusal(conn, names)?),
        Slot::CohortRefused => {
            let (stage, status, enrolled, limit): (CohortStage, CohortStatus, i32, i32) = c::table
                .filter(c::id.eq(cohort_id))
                .select((c::stage, c::status, c::enrolled, c::stage_limit))
                .first(conn)?;
            Err(cohort_refusal(cohort_name, stage, status, enrolled, limit))
        }
    }
}

fn take_slot_pg(
    pg: &mut diesel::PgConnection,
    names: &Names<'_>,
    cohort_id: &str,
    today: NaiveDate,
) -> Result<Slot, ApiError> {
    use diesel::sql_types::{Date, Text};
    let rows: Vec<TakenRow> = diesel::sql_query(TAKE_SLOT_PG)
        .bind::<Text, _>(names.agreement_id)
        .bind::<Text, _>(AgreementStatus::Active)
        .bind::<Date, _>(today)
        .bind::<Text, _>(names.drug_id)
        .bind::<Text, _>(cohort_id)
        .bind::<Text, _>(CohortStatus::Open)
        .bind::<Text, _>(CohortStatus::EligibleForExpansion)
        .load(pg)?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(Slot::AgreementRefused);
    };
    let Some(drug_used) = row.drug_used else {
        return Ok(Slot::DrugRefused);
    };
    let (Some(enrolled), Some(limit)) = (row.enrolled, row.stage_limit) else {
        return Ok(Slot::CohortRefused);
    };
    Ok(Slot::Taken(Taken {
        used: row.used,
        cap: row.cap,
        drug_used,
        drug_cap: row.drug_cap,
        stage_full: enrolled >= limit,
    }))
}

/// The same three updates one at a time (SQLite has no `UPDATE` inside `WITH`; its writers are
/// serialised anyway).
fn take_slot_each(
    conn: &mut DbConn,
    names: &Names<'_>,
    cohort_id: &str,
    today: NaiveDate,
) -> Result<Slot, ApiError> {
    let agreement: Vec<(i32, i32)> = diesel::update(
        ag::table
            .filter(ag::id.eq(names.agreement_id))
            .filter(ag::status.eq(AgreementStatus::Active))
            .filter(ag::patients_used.lt(ag::patient_cap))
            .filter(
                ag::effective_from
                    .is_null()
                    .or(ag::effective_from.le(today)),
            )
            .filter(ag::effective_to.is_null().or(ag::effective_to.ge(today))),
    )
    .set(ag::patients_used.eq(ag::patients_used + 1))
    .returning((ag::patients_used, ag::patient_cap))
    .get_results(conn)?;
    let Some((used, cap)) = agreement.into_iter().next() else {
        return Ok(Slot::AgreementRefused);
    };
    let drug: Vec<(i32, Option<i32>)> = diesel::update(
        ad::table
            .filter(ad::agreement_id.eq(names.agreement_id))
            .filter(ad::drug_id.eq(names.drug_id))
            .filter(
                ad::patient_cap
                    .is_null()
                    .or(ad::patients_used.nullable().lt(ad::patient_cap)),
            ),
    )
    .set(ad::patients_used.eq(ad::patients_used + 1))
    .returning((ad::patients_used, ad::patient_cap))
    .get_results(conn)?;
    let Some((drug_used, drug_cap)) = drug.into_iter().next() else {
        return Ok(Slot::DrugRefused);
    };
    let cohort: Vec<(i32, i32)> = diesel::update(
        c::table
            .filter(c::id.eq(cohort_id))
            .filter(c::status.eq_any([CohortStatus::Open, CohortStatus::EligibleForExpansion]))
            .filter(c::enrolled.lt(c::stage_limit)),
    )
    .set(c::enrolled.eq(c::enrolled + 1))
    .returning((c::enrolled, c::stage_limit))
    .get_results(conn)?;
    let Some((enrolled, limit)) = cohort.into_iter().next() else {
        return Ok(Slot::CohortRefused);
    };
    Ok(Slot::Taken(Taken {
        used,
        cap,
        drug_used,
        drug_cap,
        stage_full: enrolled >= limit,
    }))
}

/// Why the agreement took no patient: not in force today, or its cap reached.
fn agreement_refusal(
    conn: &mut DbConn,
    names: &Names<'_>,
    today: NaiveDate,
) -> Result<ApiError, ApiError> {
    let (status, from, to, cap): (AgreementStatus, Option<NaiveDate>, Option<NaiveDate>, i32) =
        ag::table
            .filter(ag::id.eq(names.agreement_id))
            .select((
                ag::status,
                ag::effective_from,
                ag::effective_to,
                ag::patient_cap,
            ))
            .first(conn)?;
    if !takes_patients(status, from, to, today) {
        return Ok(not_taking(names.reference, status, from, to, today));
    }
    Ok(ApiError::conflict_of(
        ProblemType::CapReached,
        format!(
            "the agreement's cap of {cap} patients is reached (agreement {})",
            names.reference
        ),
    ))
}

/// Why the drug took no patient: its cap under the agreement reached, or no longer covered.
fn drug_refusal(conn: &mut DbConn, names: &Names<'_>) -> Result<ApiError, ApiError> {
    let cap: Option<Option<i32>> = ad::table
        .filter(ad::agreement_id.eq(names.agreement_id))
        .filter(ad::drug_id.eq(names.drug_id))
        .select(ad::patient_cap)
        .first(conn)
        .optional()?;
    Ok(match cap {
        Some(Some(cap)) => ApiError::conflict_of(
            ProblemType::CapReached,
            format!(
                "the cap of {cap} patients for {} under agreement {} is reached",
                names.drug, names.reference
            ),
        ),
        _ => ApiError::invalid(
            "drug_id",
            "not_covered",
            "the agreement does not cover this drug",
        ),
    })
}

/// Gives back the slots of a withdrawn allocation, in the same order as they were taken.
pub fn free_slot(
    conn: &mut DbConn,
    agreement_id: &str,
    drug_id: &str,
    cohort_id: &str,
) -> Result<(), ApiError> {
    diesel::update(
        ag::table
            .filter(ag::id.eq(agreement_id))
            .filter(ag::patients_used.gt(0)),
    )
    .set(ag::patients_used.eq(ag::patients_used - 1))
    .execute(conn)?;
    diesel::update(
        ad::table
            .filter(ad::agreement_id.eq(agreement_id))
            .filter(ad::drug_id.eq(drug_id))
            .filter(ad::patients_used.gt(0)),
    )
    .set(ad::patients_used.eq(ad::patients_used - 1))
    .execute(conn)?;
    diesel::update(
        c::table
            .filter(c::id.eq(cohort_id))
            .filter(c::enrolled.gt(0)),
    )
    .set(c::enrolled.eq(c::enrolled - 1))
    .execute(conn)?;
    Ok(())
}

/// The thresholds that are noticed, in percent of a cap.
const THRESHOLDS: [i32; 2] = [80, 100];

fn reached(used: i32, cap: i32, percent: i32) -> bool {
    cap > 0 && i64::from(used) * 100 >= i64::from(cap) * i64::from(percent)
}

/// After a slot was taken: tells the company and the secretariat when 80 % and 100 % of the
/// agreement's cap and of the drug's own cap are reached, each once. "Once" is a conditional
/// update setting `cap_80_notified_at`/`cap_100_notified_at` where it is still empty: of
/// simultaneous allocations only the one whose update sets it sends the notice.
pub fn notify_thresholds(
    conn: &mut DbConn,
    mailer: &Mailer,
    names: &Names<'_>,
    taken: &Taken,
) -> Result<(), ApiError> {
    // The agreement's cap, then the drug's own (if it has one).
    let caps = [
        (None, taken.used, Some(taken.cap)),
        (Some(names.drug), taken.drug_used, taken.drug_cap),
    ];
    for (drug, used, cap) in caps {
        let Some(cap) = cap else { continue };
        for percent in THRESHOLDS {
            if reached(used, cap, percent) && claim_notice(conn, names, drug.is_some(), percent)? {
                send_notice(conn, mailer, names, drug, used, cap, percent)?;
            }
        }
    }
    Ok(())
}

/// Marks the notice of `percent` of the agreement's cap (or of the drug's) as sent, where it is
/// not yet: true for the one caller whose update did it.
fn claim_notice(
    conn: &mut DbConn,
    names: &Names<'_>,
    drug: bool,
    percent: i32,
) -> Result<bool, ApiError> {
    let t = now();
    let rows = if drug {
        let base = ad::table
            .filter(ad::agreement_id.eq(names.agreement_id))
            .filter(ad::drug_id.eq(names.drug_id));
        if percent == 100 {
            diesel::update(base.filter(ad::cap_100_notified_at.is_null()))
                .set(ad::cap_100_notified_at.eq(t))
                .execute(conn)?
        } else {
            diesel::update(base.filter(ad::cap_80_notified_at.is_null()))
                .set(ad::cap_80_notified_at.eq(t))
                .execute(conn)?
        }
    } else {
        let base = ag::table.filter(ag::id.eq(names.agreement_id));
        if percent == 100 {
            diesel::update(base.filter(ag::cap_100_notified_at.is_null()))
                .set(ag::cap_100_notified_at.eq(t))
                .execute(conn)?
        } else {
            diesel::update(base.filter(ag::cap_80_notified_at.is_null()))
                .set(ag::cap_80_notified_at.eq(t))
                .execute(conn)?
        }
    };
    Ok(rows == 1)
}

fn send_notice(
    conn: &mut DbConn,
    mailer: &Mailer,
    names: &Names<'_>,
    drug: Option<&str>,
    used: i32,
    cap: i32,
    percent: i32,
) -> Result<(), ApiError> {
    let company: String = o::table
        .filter(o::id.eq(names.company_id))
        .select(o::name)
        .first(conn)?;
    let values = json!({
        "organisation": company,
        "reference": names.reference,
        "drug": drug,
        "used": used,
        "cap": cap,
        "percent": percent,
        "link": format!(
            "{}/api/v1/agreements/{}/usage",
            mailer.public_url.trim_end_matches('/'),
            names.agreement_id
        ),
    });
    for to in company_and_secretariat(conn, names.company_id)? {
        enqueue(conn, mailer, Kind::CapThreshold, &to, values.clone())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_reached_at_80_and_100_percent() {
        assert!(!reached(7, 10, 80));
        assert!(reached(8, 10, 80));
        assert!(!reached(9, 10, 100));
        assert!(reached(10, 10, 100));
        assert!(reached(3, 3, 80));
        assert!(!reached(0, 0, 80));
    }

    #[test]
    fn only_an_active_agreement_within_its_dates_takes_patients() {
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let today = d("2026-12-06").unwrap();
        assert!(takes_patients(
            AgreementStatus::Active,
            d("2026-01-01"),
            None,
            today
        ));
        assert!(takes_patients(
            AgreementStatus::Active,
            d("2026-12-06"),
            d("2026-12-06"),
            today
        ));
        assert!(!takes_patients(
            AgreementStatus::Active,
            d("2026-12-07"),
            None,
            today
        ));
        assert!(!takes_patients(
            AgreementStatus::Active,
            None,
            d("2026-12-05"),
            today
        ));
        assert!(!takes_patients(
            AgreementStatus::Suspended,
            None,
            None,
            today
        ));
        assert!(!takes_patients(AgreementStatus::Draft, None, None, today));
    }
}
