//! An agreement's lifecycle (submit, activate, suspend, end) and its history.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::{NewEvent, find, find_row, get_visible, notify_status, record_event};
use crate::agreements::model::{
    Agreement, AgreementEvent, AgreementStatus, Step, TransitionRequest, clean, validate_transition,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy;
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::notifications::Mailer;
use crate::organisations::repo::{DecisionSubject, cited_decision};
use crate::schema::{agreement_events as ae, agreements as a};
use crate::webhooks::{self, EventType};

pub(crate) fn invalid_transition(step: Step, status: AgreementStatus) -> ApiError {
    ApiError::conflict_of(
        ProblemType::InvalidTransition,
        format!("the agreement is {status}: it cannot {} now", step.path()),
    )
}

/// Moves an agreement one step along its lifecycle: a conditional update on the status read, so
/// of two racing requests one wins and the other answers 409.
pub fn transition(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    step: Step,
    req: TransitionRequest,
) -> Result<Agreement, ApiError> {
    let before = get_visible(conn, caller, id)?;
    match step {
        Step::Submit => policy::draft_agreement(caller, &before.organisation_id)?,
        _ => policy::decide_agreement(caller)?,
    }
    validate_transition(step, &req)?;
    let (from, to) = step.from_to();
    if !from.contains(&before.status) {
        return Err(invalid_transition(step, before.status));
    }
    if step == Step::Activate {
        check_activation(&before)?;
    }
    let cited = match &req.decision_id {
        Some(d) => cited_decision(conn, d.as_str(), DecisionSubject::Agreement(id))?,
        None => None,
    };
    let rows = diesel::update(
        a::table
            .filter(a::id.eq(id))
            .filter(a::status.eq(before.status)),
    )
    .set((
        a::status.eq(to),
        a::version.eq(a::version + 1),
        a::updated_at.eq(now()),
    ))
    .execute(conn)?;
    if rows == 0 {
        let now_status = find_row(conn, id)?.status;
        return Err(invalid_transition(step, now_status));
    }
    let reason = clean(req.reason);
    let decision = clean(req.decision_reference).or(cited);
    let decision_id = req.decision_id.as_ref().map(|d| d.as_str());
    record_event(
        conn,
        NewEvent {
            agreement_id: id,
            kind: step.kind(),
            from: Some(before.status),
            to,
            reason: reason.as_deref(),
            decision_reference: decision.as_deref(),
            decision_id,
            changes: None,
            actor_user_id: caller.author(),
        },
    )?;
    audit::record(
        conn,
        &caller.actor(),
        &format!("agreement.{}", step.kind()),
        "agreement",
        id,
        json!({"status": {"from": before.status, "to": to}, "reason": reason,
               "decision_reference": decision, "decision_id": decision_id}),
    )?;
    let after = find(conn, id)?;
    webhooks::emit(
        conn,
        EventType::AgreementStatusChanged,
        json!({
            "agreement_id": id,
            "organisation_id": after.organisation_id,
            "reference": after.reference,
            "from_status": before.status,
            "to_status": to,
            "step": step.kind(),
            "decision_id": decision_id,
        }),
    )?;
    notify_status(conn, mailer, &after, before.status, reason.as_deref())?;
    Ok(after)
}

/// Activation needs the date the agreement takes effect and at least one covered drug.
fn check_activation(a: &Agreement) -> Result<(), ApiError> {
    let mut v = crate::validation::Validator::new();
    v.check(
        a.effective_from.is_some(),
        "effective_from",
        "required",
        "an agreement needs the date it takes effect before it is activated",
    );
    v.check(
        !a.drugs.is_empty(),
        "drugs",
        "required",
        "an agreement needs at least one covered drug before it is activated",
    );
    v.finish()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = ae)]
struct EventRow {
    id: Id,
    kind: String,
    from_status: Option<AgreementStatus>,
    to_status: AgreementStatus,
    reason: Option<String>,
    decision_reference: Option<String>,
    decision_id: Option<Id>,
    changes: Option<String>,
    actor_user_id: Option<Id>,
    occurred_at: NaiveDateTime,
}

/// The agreement's history, oldest first.
pub fn history(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<Vec<AgreementEvent>, ApiError> {
    let row = find_row(conn, id)?;
    policy::see_agreement(caller, &row.organisation_id)?;
    let rows: Vec<EventRow> = ae::table
        .filter(ae::agreement_id.eq(id))
        .order((ae::occurred_at.asc(), ae::id.asc()))
        .select(EventRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let changes = match r.changes {
                Some(text) => Some(
                    serde_json::from_str(&text)
                        .map_err(|e| ApiError::internal(format!("agreement event: {e}")))?,
                ),
                None => None,
            };
            Ok(AgreementEvent {
                id: r.id,
                kind: r.kind,
                from_status: r.from_status,
                to_status: r.to_status,
                reason: r.reason,
                decision_reference: r.decision_reference,
                decision_id: r.decision_id,
                changes,
                actor_user_id: r.actor_user_id,
                occurred_at: r.occurred_at.and_utc(),
            })
        })
        .collect()
}
