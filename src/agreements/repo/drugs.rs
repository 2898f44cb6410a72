//! The drugs an agreement covers: added and removed while it is a draft or submitted (once in
//! force, by amendment).

use diesel::prelude::*;
use serde_json::json;

use super::{covered_drugs, find_row, get_visible};
use crate::agreements::model::{AddCoveredDrug, AgreementStatus, CoveredDrug, check_cap};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, won_race};
use crate::schema::{agreement_drugs as ad, agreements as a, cohorts as c, drugs as d};
use crate::validation::Validator;

/// 409 unless the agreement's drugs may still change directly.
fn check_editable(status: AgreementStatus, id: &str) -> Result<(), ApiError> {
    if matches!(status, AgreementStatus::Draft | AgreementStatus::Submitted) {
        Ok(())
    } else {
        Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!(
                "the drugs of an agreement in force change by amendment: \
                 POST /api/v1/agreements/{id}/amendments"
            ),
        ))
    }
}

/// The drug must be one of the company's own (422 otherwise, also when it does not exist).
pub(crate) fn check_own_drug(
    conn: &mut DbConn,
    field: &str,
    company: &str,
    drug_id: &str,
) -> Result<(), ApiError> {
    let owner: Option<String> = d::table
        .filter(d::id.eq(drug_id))
        .select(d::organisation_id)
        .first(conn)
        .optional()?;
    if owner.as_deref() != Some(company) {
        return Err(ApiError::invalid(
            field,
            "not_own_drug",
            "an agreement covers only its own company's drugs",
        ));
    }
    Ok(())
}

/// A drug's cap must be a count no larger than the agreement's.
pub(crate) fn check_drug_cap(
    field: &str,
    cap: Option<i32>,
    agreement_cap: i32,
) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if let Some(cap) = cap {
        check_cap(&mut v, field, cap);
        v.check(
            cap <= agreement_cap,
            field,
            "above_agreement_cap",
            format!("must be at most the agreement's cap ({agreement_cap})"),
        );
    }
    v.finish()
}

/// 409 when a cohort treats patients with the drug under this agreement.
pub(crate) fn check_no_cohort(
    conn: &mut DbConn,
    agreement_id: &str,
    drug_id: &str,
) -> Result<(), ApiError> {
    let cohorts: i64 = c::table
        .filter(c::agreement_id.eq(agreement_id))
        .filter(c::drug_id.eq(drug_id))
        .count()
        .get_result(conn)?;
    if cohorts > 0 {
        return Err(ApiError::conflict(
            "a cohort uses this drug under the agreement",
        ));
    }
    Ok(())
}

pub fn list(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Vec<CoveredDrug>, ApiError> {
    let row = find_row(conn, id)?;
    policy::see_agreement(caller, &row.organisation_id)?;
    covered_drugs(conn, id)
}

/// One covered drug, with the agreement's version (its ETag: removing the drug needs it).
pub fn get(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    drug_id: &str,
) -> Result<(CoveredDrug, i32), ApiError> {
    let row = find_row(conn, id)?;
    policy::see_agreement(caller, &row.organisation_id)?;
    let drug = covered_drugs(conn, id)?
        .into_iter()
        .find(|c| c.drug_id.as_str() == drug_id)
        .ok_or(ApiError::NotFound)?;
    Ok((drug, row.version))
}

/// Adds a covered drug; the agreement's version goes up by one.
pub fn add(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: AddCoveredDrug,
) -> Result<CoveredDrug, ApiError> {
    let agreement = get_visible(conn, caller, id)?;
    policy::edit_agreement(caller, &agreement.organisation_id, agreement.status)?;
    check_editable(agreement.status, id)?;
    check_own_drug(conn, "drug_id", &agreement.organisation_id, &req.drug_id)?;
    check_drug_cap("patient_cap", req.patient_cap, agreement.patient_cap)?;
    if agreement.drugs.iter().any(|c| c.drug_id == req.drug_id) {
        return Err(ApiError::conflict("the agreement already covers this drug"));
    }
    // The agreement row first, as every writer does: it also fences a racing transition.
    let rows = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::status.eq(agreement.status)),
    )
    .set((a::version.eq(a::version + 1), a::updated_at.eq(now())))
    .execute(conn)?;
    if rows == 0 {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the agreement's status changed meanwhile",
        ));
    }
    diesel::insert_into(ad::table)
        .values((
            ad::agreement_id.eq(id),
            ad::drug_id.eq(&req.drug_id),
            ad::patient_cap.eq(req.patient_cap),
            ad::patients_used.eq(0),
            ad::added_at.eq(now()),
        ))
        .execute(conn)?;
    audit::updated(
        conn,
        &caller.actor(),
        "agreement",
        id,
        json!({"drugs": {"added": {"drug_id": req.drug_id, "patient_cap": req.patient_cap}}}),
    )?;
    covered_drugs(conn, id)?
        .into_iter()
        .find(|c| c.drug_id == req.drug_id)
        .ok_or(ApiError::NotFound)
}

/// Removes a covered drug no cohort uses, given the agreement's current version; the
/// agreement's version goes up by one.
pub fn remove(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    drug_id: &Id,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let agreement = get_visible(conn, caller, id)?;
    policy::edit_agreement(caller, &agreement.organisation_id, agreement.status)?;
    if_match.check(agreement.version)?;
    check_editable(agreement.status, id)?;
    if !agreement.drugs.iter().any(|c| &c.drug_id == drug_id) {
        return Err(ApiError::NotFound);
    }
    won_race(
        diesel::update(
            a::table
                .filter(a::id.eq(id))
                .filter(a::version.eq(agreement.version)),
        )
        .set((a::version.eq(a::version + 1), a::updated_at.eq(now())))
        .execute(conn)?,
    )?;
    check_no_cohort(conn, id, drug_id)?;
    diesel::delete(
        ad::table
            .filter(ad::agreement_id.eq(id))
            .filter(ad::drug_id.eq(drug_id)),
    )
    .execute(conn)?;
    audit::updated(
        conn,
        &caller.actor(),
        "agreement",
        id,
        json!({"drugs": {"removed": {"drug_id": drug_id}}}),
    )?;
    Ok(())
}
