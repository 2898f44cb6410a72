//! Amendments of an agreement in force: caps, funded weeks, end date and covered drugs, by the
//! secretariat, kept in the history with what changed. No cap ever goes below what is used: the
//! updates are conditional on it (and the tables' CHECKs stand behind them), so an allocation
//! racing an amendment cannot slip between the check and the change.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde_json::{Value, json};

use super::drugs::{check_no_cohort, check_own_drug};
use super::{NewEvent, find, find_row, get_visible, record_event};
use crate::agreements::model::{
    Agreement, AgreementStatus, Amendment, check_cap, check_funded_weeks, clean,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::now;
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::schema::{agreement_drugs as ad, agreements as a};
use crate::validation::Validator;

fn validate(req: &Amendment, before: &Agreement) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("reason", &req.reason, 1000);
    v.optional_text("decision_reference", req.decision_reference.as_deref(), 200);
    if let Some(cap) = req.patient_cap {
        check_cap(&mut v, "patient_cap", cap);
    }
    if let Some(weeks) = req.funded_weeks {
        check_funded_weeks(&mut v, weeks);
    }
    if let (Some(Some(to)), Some(from)) = (req.effective_to, before.effective_from) {
        v.check(
            to >= from,
            "effective_to",
            "before_start",
            "must not be before effective_from",
        );
    }
    let cap = req.patient_cap.unwrap_or(before.patient_cap);
    for (i, drug) in req.drugs.iter().enumerate() {
        let field = format!("drugs[{i}].patient_cap");
        if let Some(c) = drug.patient_cap {
            check_cap(&mut v, &field, c);
            v.check(
                c <= cap,
                &field,
                "above_agreement_cap",
                format!("must be at most the agreement's cap ({cap})"),
            );
        }
        v.check(
            req.drugs[..i].iter().all(|d| d.drug_id != drug.drug_id)
                && !req.remove_drugs.contains(&drug.drug_id),
            "drugs",
            "duplicate",
            "each drug at most once, and not both amended and removed",
        );
    }
    // Drugs the amendment leaves as they are keep their caps: those must fit the new cap too.
    for covered in &before.drugs {
        let untouched = !req.drugs.iter().any(|d| d.drug_id == covered.drug_id)
            && !req.remove_drugs.contains(&covered.drug_id);
        if untouched && let Some(c) = covered.patient_cap {
            v.check(
                c <= cap,
                "patient_cap",
                "below_drug_cap",
                format!("{} has a cap of {c} of its own", covered.generic_name),
            );
        }
    }
    for (i, drug) in req.remove_drugs.iter().enumerate() {
        v.check(
            before.drugs.iter().any(|c| &c.drug_id == drug),
            &format!("remove_drugs[{i}]"),
            "not_covered",
            "the agreement does not cover this drug",
        );
    }
    v.finish()
}

/// What the amendment may change, as JSON, for the history's `{field: {from, to}}`.
fn snapshot(a: &Agreement) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("patient_cap".into(), json!(a.patient_cap));
    out.insert("funded_weeks".into(), json!(a.funded_weeks));
    out.insert("effective_to".into(), json!(a.effective_to));
    let drugs: BTreeMap<String, Value> = a
        .drugs
        .iter()
        .map(|d| {
            (
                format!("drugs/{}", d.drug_id),
                json!({"generic_name": d.generic_name, "patient_cap": d.patient_cap}),
            )
        })
        .collect();
    out.extend(drugs);
    Value::Object(out)
}

pub fn amend(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: Amendment,
) -> Result<Agreement, ApiError> {
    let before = get_visible(conn, caller, id)?;
    policy::decide_agreement(caller)?;
    if !matches!(
        before.status,
        AgreementStatus::Active | AgreementStatus::Suspended
    ) {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!(
                "the agreement is {}: only an active or suspended agreement is amended (a draft \
                 or submitted one changes by PATCH)",
                before.status
            ),
        ));
    }
    validate(&req, &before)?;
    for (i, drug) in req.drugs.iter().enumerate() {
        if !before.drugs.iter().any(|c| c.drug_id == drug.drug_id) {
            check_own_drug(
                conn,
                &format!("drugs[{i}].drug_id"),
                &before.organisation_id,
                &drug.drug_id,
            )?;
        }
    }
    let cap = req.patient_cap.unwrap_or(before.patient_cap);
    let weeks = req.funded_weeks.unwrap_or(before.funded_weeks);
    let effective_to = req.effective_to.unwrap_or(before.effective_to);

    // 1. The agreement row (the lock every writer takes first), on its status and its usage.
    let rows = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::status.eq(before.status))
            .filter(a::patients_used.le(cap)),
    )
    .set((
        a::patient_cap.eq(cap),
        a::funded_weeks.eq(weeks),
        a::effective_to.eq(effective_to),
        a::version.eq(a::version + 1),
        a::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if rows == 0 {
        let now_row = find_row(conn, id)?;
        if now_row.patients_used > cap {
            return Err(ApiError::invalid(
                "patient_cap",
                "below_used",
                format!(
                    "{} patients are already started under the agreement",
                    now_row.patients_used
                ),
            ));
        }
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the agreement's status changed meanwhile",
        ));
    }

    // 2. Its drug rows.
    for (i, drug) in req.drugs.iter().enumerate() {
        let covered = before.drugs.iter().find(|c| c.drug_id == drug.drug_id);
        if covered.is_none() {
            diesel::insert_into(ad::table)
                .values((
                    ad::agreement_id.eq(id),
                    ad::drug_id.eq(&drug.drug_id),
                    ad::patient_cap.eq(drug.patient_cap),
                    ad::patients_used.eq(0),
                    ad::added_at.eq(now()),
                ))
                .execute(conn)?;
            continue;
        }
        let target = ad::table
            .filter(ad::agreement_id.eq(id))
            .filter(ad::drug_id.eq(&drug.drug_id));
        let rows = match drug.patient_cap {
            Some(c) => diesel::update(target.filter(ad::patients_used.le(c)))
                .set(ad::patient_cap.eq(Some(c)))
                .execute(conn)?,
            None => diesel::update(target)
                .set(ad::patient_cap.eq(None::<i32>))
                .execute(conn)?,
        };
        if rows == 0 {
            let used: i32 = ad::table
                .filter(ad::agreement_id.eq(id))
                .filter(ad::drug_id.eq(&drug.drug_id))
                .select(ad::patients_used)
                .first(conn)?;
            return Err(ApiError::invalid(
                &format!("drugs[{i}].patient_cap"),
                "below_used",
                format!("{used} patients are already started with this drug"),
            ));
        }
    }
    for (i, drug_id) in req.remove_drugs.iter().enumerate() {
        // 3. Cohorts are read after the drug rows, in the same order as everywhere.
        check_no_cohort(conn, id, drug_id)?;
        let rows = diesel::delete(
            ad::table
                .filter(ad::agreement_id.eq(id))
                .filter(ad::drug_id.eq(drug_id))
                .filter(ad::patients_used.eq(0)),
        )
        .execute(conn)?;
        if rows == 0 {
            return Err(ApiError::invalid(
                &format!("remove_drugs[{i}]"),
                "in_use",
                "patients are already started with this drug under the agreement",
            ));
        }
    }

    let after = find(conn, id)?;
    let changes = audit::diff(Some(&snapshot(&before)), Some(&snapshot(&after)));
    let reason = clean(Some(req.reason));
    let decision = clean(req.decision_reference);
    record_event(
        conn,
        NewEvent {
            agreement_id: id,
            kind: "amended",
            from: Some(before.status),
            to: before.status,
            reason: reason.as_deref(),
            decision_reference: decision.as_deref(),
            decision_id: None,
            changes: Some(changes.to_string()),
            actor_user_id: caller.author(),
        },
    )?;
    audit::record(
        conn,
        &caller.actor(),
        "agreement.amended",
        "agreement",
        id,
        changes,
    )?;
    Ok(after)
}
