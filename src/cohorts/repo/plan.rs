//! The moves of a cohort's plan: the rule applied as outcomes arrive ([`reassess`]), and the
//! secretariat's decisions (opening the expansion stage, closing). Each move is a conditional
//! update on the version read, a history entry, an audit event and an e-mail to the company's
//! representatives and the secretariat, all in the caller's transaction.

use diesel::prelude::*;
use serde_json::json;

use super::{CohortRow, Counts, counts, find, find_row, get_visible};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::cohorts::model::{
    CloseCohort, Cohort, CohortStage, CohortState, CohortStatus, OpenExpansion, assess,
};
use crate::core::{Actor, new_id, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::notifications::{Kind, Mailer, enqueue};
use crate::schema::{
    agreements as a, cohort_events as ce, cohorts as c, drugs as d, organisations as o,
};
use crate::webhooks::{self, EventType};

/// One entry of a cohort's history.
pub(crate) struct NewEvent<'a> {
    pub cohort_id: &'a str,
    pub from: Option<(CohortStage, CohortStatus)>,
    pub to: (CohortStage, CohortStatus),
    pub reason: Option<&'a str>,
    pub counts: Counts,
    pub actor_user_id: Option<&'a str>,
}

pub(crate) fn record_event(conn: &mut DbConn, e: NewEvent<'_>) -> Result<(), ApiError> {
    diesel::insert_into(ce::table)
        .values((
            ce::id.eq(new_id()),
            ce::cohort_id.eq(e.cohort_id),
            ce::from_stage.eq(e.from.map(|f| f.0)),
            ce::to_stage.eq(e.to.0),
            ce::from_status.eq(e.from.map(|f| f.1)),
            ce::to_status.eq(e.to.1),
            ce::reason.eq(e.reason),
            ce::enrolled.eq(e.counts.enrolled),
            ce::benefits.eq(e.counts.benefits),
            ce::actor_user_id.eq(e.actor_user_id),
            ce::occurred_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A change of stage or status to apply.
struct Move<'a> {
    stage: CohortStage,
    status: CohortStatus,
    stage_limit: i32,
    expansion_size: Option<i32>,
    reason: Option<&'a str>,
}

/// Applies a move to the cohort as read (conditional on its version), with its history entry,
/// audit event and e-mails. `None` when another change won the race.
fn apply(
    conn: &mut DbConn,
    mailer: &Mailer,
    before: &CohortRow,
    n: Counts,
    m: Move<'_>,
    actor: &Actor,
    actor_user_id: Option<&str>,
) -> Result<Option<Cohort>, ApiError> {
    let closing = m.stage == CohortStage::Closed;
    let rows = diesel::update(
        c::table
            .filter(c::id.eq(&before.id))
            .filter(c::version.eq(before.version)),
    )
    .set((
        c::stage.eq(m.stage),
        c::status.eq(m.status),
        c::stage_limit.eq(m.stage_limit),
        c::expansion_size.eq(m.expansion_size),
        c::closed_reason.eq(if closing { m.reason } else { None }),
        c::version.eq(before.version + 1),
        c::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if rows == 0 {
        return Ok(None);
    }
    record_event(
        conn,
        NewEvent {
            cohort_id: &before.id,
            from: Some((before.stage, before.status)),
            to: (m.stage, m.status),
            reason: m.reason,
            counts: n,
            actor_user_id,
        },
    )?;
    audit::record(
        conn,
        actor,
        "cohort.stage_changed",
        "cohort",
        &before.id,
        json!({
            "stage": {"from": before.stage, "to": m.stage},
            "status": {"from": before.status, "to": m.status},
            "stage_limit": {"from": before.stage_limit, "to": m.stage_limit},
            "reason": m.reason,
        }),
    )?;
    webhooks::emit(
        conn,
        EventType::CohortStageChanged,
        json!({
            "cohort_id": before.id,
            "agreement_id": before.agreement_id,
            "organisation_id": before.organisation_id,
            "drug_id": before.drug_id,
            "tumour_type": before.tumour_type,
            "alteration": before.alteration,
            "from_stage": before.stage,
            "to_stage": m.stage,
            "from_status": before.status,
            "to_status": m.status,
            "reason": m.reason,
        }),
    )?;
    notify(conn, mailer, before, n, &m)?;
    Ok(Some(find(conn, &before.id)?))
}

/// Tells the company's representatives and the secretariat of the cohort's new stage or status.
fn notify(
    conn: &mut DbConn,
    mailer: &Mailer,
    before: &CohortRow,
    n: Counts,
    m: &Move<'_>,
) -> Result<(), ApiError> {
    let (company, reference): (String, String) = a::table
        .inner_join(o::table)
        .filter(a::id.eq(&before.agreement_id))
        .select((o::name, a::reference))
        .first(conn)?;
    let drug: String = d::table
        .filter(d::id.eq(&before.drug_id))
        .select(d::generic_name)
        .first(conn)?;
    let link = mailer.link(&format!("/api/v1/cohorts/{}", before.id));
    for to in crate::notifications::repo::company_and_secretariat(conn, &before.organisation_id)? {
        let values = json!({
            "organisation": company,
            "cohort": format!("{}, {}", before.tumour_type, before.alteration),
            "drug": drug,
            "reference": reference,
            "from_stage": before.stage.as_str(),
            "from_status": before.status.as_str(),
            "to_stage": m.stage.as_str(),
            "to_status": m.status.as_str(),
            "reason": m.reason,
            "enrolled": n.enrolled,
            "benefits": n.benefits,
            "link": link,
        });
        enqueue(conn, mailer, Kind::CohortStageChanged, &to, values)?;
    }
    Ok(())
}

/// Applies the plan's rule ([`assess`](crate::cohorts::model::assess)) to a cohort after a change
/// of its patients: call it inside the transaction that allocates a patient, records an
/// evaluation or withdraws an allocation, after that change. It counts the cohort's `active`
/// allocations (enrolled; with benefit; pending) and, when the rule moves the cohort (a change of
/// stage or status), updates it conditionally on the version it read, writes a history entry
/// (with enrolled and benefits), an audit event (`actor_user_id`, or the service when `None`) and
/// a `cohort_stage_changed` e-mail to the company and the secretariat.
///
/// Returns the cohort as it now is when it moved, `None` when it stays where it is. A cohort
/// changed by another transaction between the read and the update answers 409; a missing cohort
/// 404.
pub fn reassess(
    conn: &mut DbConn,
    mailer: &Mailer,
    cohort_id: &str,
    actor_user_id: Option<&str>,
) -> Result<Option<Cohort>, ApiError> {
    let row = find_row(conn, cohort_id)?;
    let n = counts(conn, &[cohort_id])?
        .remove(cohort_id)
        .unwrap_or_default();
    let state = CohortState {
        stage: row.stage,
        status: row.status,
        stage1_size: row.stage1_size,
        stage2_size: row.stage2_size,
        stage_limit: row.stage_limit,
        stage2_target: row.stage2_target,
        expansion_target: row.expansion_target,
        enrolled: n.enrolled,
        benefits: n.benefits,
        pending: n.pending,
    };
    let Some(t) = assess(&state) else {
        return Ok(None);
    };
    let actor = match actor_user_id {
        Some(id) => Actor::user(id, None),
        None => Actor::system(),
    };
    let m = Move {
        stage: t.stage,
        status: t.status,
        stage_limit: t.stage_limit,
        expansion_size: row.expansion_size,
        reason: t.reason.as_deref(),
    };
    match apply(conn, mailer, &row, n, m, &actor, actor_user_id)? {
        Some(cohort) => Ok(Some(cohort)),
        None => Err(ApiError::conflict(
            "the cohort changed meanwhile; try again",
        )),
    }
}

/// Opens the expansion stage of a cohort eligible for it (the secretariat): stage expansion,
/// open, its limit the 24 of stage 2 plus `size`.
pub fn open_expansion(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    req: OpenExpansion,
) -> Result<Cohort, ApiError> {
    get_visible(conn, caller, id)?;
    policy::manage_cohorts(caller)?;
    req.validate()?;
    let row = find_row(conn, id)?;
    if row.status != CohortStatus::EligibleForExpansion {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!(
                "only a cohort eligible for expansion opens its expansion stage; this one is {} ({})",
                row.stage, row.status
            ),
        ));
    }
    let n = counts(conn, &[id])?.remove(id).unwrap_or_default();
    let reason = match req.decision_reference.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => format!("{} (decision {d})", req.reason.trim()),
        _ => req.reason.trim().to_owned(),
    };
    let m = Move {
        stage: CohortStage::Expansion,
        status: CohortStatus::Open,
        stage_limit: row.stage2_size + req.size,
        expansion_size: Some(req.size),
        reason: Some(&reason),
    };
    apply(conn, mailer, &row, n, m, &caller.actor(), caller.author())?.ok_or_else(|| {
        ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the cohort changed meanwhile",
        )
    })
}

/// Closes a cohort (the secretariat): it takes no more patients.
pub fn close(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    req: CloseCohort,
) -> Result<Cohort, ApiError> {
    get_visible(conn, caller, id)?;
    policy::manage_cohorts(caller)?;
    let mut v = crate::validation::Validator::new();
    v.text("reason", &req.reason, 1000);
    v.finish()?;
    let row = find_row(conn, id)?;
    if row.stage == CohortStage::Closed {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the cohort is already closed",
        ));
    }
    let n = counts(conn, &[id])?.remove(id).unwrap_or_default();
    let reason = req.reason.trim().to_owned();
    let m = Move {
        stage: CohortStage::Closed,
        status: CohortStatus::Closed,
        stage_limit: row.stage_limit,
        expansion_size: row.expansion_size,
        reason: Some(&reason),
    };
    apply(conn, mailer, &row, n, m, &caller.actor(), caller.author())?.ok_or_else(|| {
        ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the cohort changed meanwhile",
        )
    })
}
