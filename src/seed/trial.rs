//! The demo's drug-supply agreements, cohorts and patients: loaded through the same repository
//! functions the API uses (so caps, the cohort plan, history and audit apply), replaying each
//! patient's start and week-16 evaluation in date order.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use super::organisation_named;
use crate::agreements::model::{CreateAgreement, Step, TransitionRequest};
use crate::allocations::model::{CreateAllocation, RecordEvaluation, RecordedOutcome};
use crate::auth::Caller;
use crate::cohorts::model::CreateCohort;
use crate::core::Id;
use crate::db::DbConn;
use crate::db::functions::lower;
use crate::error::ApiError;
use crate::notifications::Mailer;
use crate::schema::{agreements as a, drugs as d, organisations as o};

/// A demo agreement, its drugs named by generic name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoAgreement {
    company: String,
    reference: String,
    title: String,
    signed_on: NaiveDate,
    effective_from: NaiveDate,
    effective_to: NaiveDate,
    patient_cap: i32,
    drugs: Vec<String>,
    /// Why it was activated (the demo's agreements are all active).
    activated: String,
    notes: Option<String>,
}

/// A demo cohort under an agreement (by reference), with its invented patients.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoCohort {
    agreement: String,
    drug: String,
    tumour_type: String,
    alteration: String,
    /// Trial codes are this prefix and a number: clearly fictional.
    code_prefix: String,
    #[serde(default)]
    patient: Vec<DemoPatient>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoPatient {
    /// The site's short name.
    site: String,
    started_on: NaiveDate,
    /// The week-16 outcome, recorded on the evaluation's due date; none: still pending.
    outcome: Option<RecordedOutcome>,
}

/// What the trial part of the demo added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrialSeeded {
    pub agreements: usize,
    pub cohorts: usize,
    pub patients: usize,
}

fn drug_of(conn: &mut DbConn, company: &str, generic_name: &str) -> Result<Id, ApiError> {
    d::table
        .filter(d::organisation_id.eq(company))
        .filter(lower(d::generic_name).eq(generic_name.to_lowercase()))
        .select(d::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal(format!("the demo data names no drug {generic_name}")))
}

fn site_of(conn: &mut DbConn, short_name: &str) -> Result<Id, ApiError> {
    o::table
        .filter(o::short_name.eq(short_name))
        .filter(o::trial_site.eq(true))
        .select(o::id)
        .load::<Id>(conn)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ApiError::internal(format!("the demo data names no trial site {short_name}"))
        })
}

/// Something that happens to a demo patient on a date: started, or evaluated at week 16.
enum Event<'a> {
    Start {
        agreement: &'a Id,
        cohort: &'a Id,
        drug: &'a Id,
        code: String,
        patient: &'a DemoPatient,
    },
    Evaluate {
        code: String,
        outcome: RecordedOutcome,
    },
}

/// Adds the demo agreements whose reference is not taken yet, with their cohorts and patients.
pub(super) fn load(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    agreements: &[DemoAgreement],
    cohorts: &[DemoCohort],
    today: NaiveDate,
) -> Result<TrialSeeded, ApiError> {
    let mut seeded = TrialSeeded::default();
    // Agreement reference → (id, company id, funded weeks) for those added now.
    let mut added: Vec<(String, Id, Id)> = Vec::new();
    for demo in agreements {
        let taken = a::table
            .filter(lower(a::reference).eq(demo.reference.to_lowercase()))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if taken {
            continue;
        }
        let company = organisation_named(conn, &demo.company)?;
        let (company_id, terms) = CreateAgreement {
            organisation_id: company.clone(),
            reference: demo.reference.clone(),
            title: demo.title.clone(),
            signed_on: Some(demo.signed_on),
            effective_from: Some(demo.effective_from),
            effective_to: Some(demo.effective_to),
            patient_cap: demo.patient_cap,
            funded_weeks: None,
            documents: Vec::new(),
            notes: demo.notes.clone(),
        }
        .terms();
        let id = Id::new();
        crate::agreements::repo::create(conn, caller, &id, &company_id, terms)?;
        for name in &demo.drugs {
            let drug_id = drug_of(conn, &company, name)?;
            crate::agreements::repo::drugs::add(
                conn,
                caller,
                &id,
                crate::agreements::model::AddCoveredDrug {
                    drug_id,
                    patient_cap: None,
                },
            )?;
        }
        for (step, reason) in [
            (Step::Submit, "Submitted by the company".to_owned()),
            (Step::Activate, demo.activated.clone()),
        ] {
            let req = TransitionRequest {
                reason: Some(reason),
                decision_reference: None,
                decision_id: None,
            };
            crate::agreements::repo::lifecycle::transition(conn, caller, mailer, &id, step, req)?;
        }
        added.push((demo.reference.clone(), id, company));
        seeded.agreements += 1;
    }

    // The cohorts of the agreements just added, then every patient event in date order.
    let mut cohort_ids: Vec<(Id, Id, Id)> = Vec::new(); // (agreement, cohort, drug)
    let mut demo_of: Vec<&DemoCohort> = Vec::new();
    for demo in cohorts {
        let Some((_, agreement, company)) = added.iter().find(|(r, _, _)| *r == demo.agreement)
        else {
            continue;
        };
        let drug = drug_of(conn, company, &demo.drug)?;
        let id = Id::new();
        let req = CreateCohort {
            agreement_id: agreement.clone(),
            drug_id: drug.clone(),
            tumour_type: demo.tumour_type.clone(),
            alteration: demo.alteration.clone(),
            stage1_size: None,
            stage2_size: None,
            stage2_target: None,
            expansion_target: None,
        };
        crate::cohorts::repo::create(conn, caller, &id, &req)?;
        cohort_ids.push((agreement.clone(), id, drug));
        demo_of.push(demo);
        seeded.cohorts += 1;
    }
    let mut events: Vec<(NaiveDate, u8, Event<'_>)> = Vec::new();
    for ((agreement, cohort, drug), demo) in cohort_ids.iter().zip(&demo_of) {
        for (n, patient) in demo.patient.iter().enumerate() {
            let code = format!("{}-{:02}", demo.code_prefix, n + 1);
            if let Some(outcome) = patient.outcome {
                let due = crate::allocations::model::evaluation_due(patient.started_on, 16);
                if due <= today {
                    events.push((
                        due,
                        0,
                        Event::Evaluate {
                            code: code.clone(),
                            outcome,
                        },
                    ));
                }
            }
            events.push((
                patient.started_on,
                1,
                Event::Start {
                    agreement,
                    cohort,
                    drug,
                    code,
                    patient,
                },
            ));
        }
    }
    // Evaluations of a day before that day's starts, as a site would record them.
    events.sort_by_key(|(date, order, _)| (*date, *order));
    let mut started: Vec<(String, Id)> = Vec::new();
    for (date, _, event) in events {
        match event {
            Event::Start {
                agreement,
                cohort,
                drug,
                code,
                patient,
            } => {
                let body = CreateAllocation {
                    trial_code: code.clone(),
                    drug_id: drug.clone(),
                    site_id: site_of(conn, &patient.site)?,
                    cohort_id: cohort.clone(),
                    started_on: patient.started_on,
                };
                let allocation = crate::allocations::write::create(
                    conn, caller, mailer, agreement, body, today,
                )?;
                started.push((code, allocation.id));
                seeded.patients += 1;
            }
            Event::Evaluate { code, outcome } => {
                let Some((_, id)) = started.iter().find(|(c, _)| *c == code) else {
                    continue;
                };
                let body = RecordEvaluation {
                    outcome,
                    evaluated_on: date,
                };
                crate::allocations::write::evaluate(conn, caller, mailer, id, body, today)?;
            }
        }
    }
    Ok(seeded)
}
