//! The API types of `cohorts` and their rules: the staged plan as a pure function, [`assess`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{CohortStage, CohortStatus};
use crate::error::ApiError;
use crate::validation::Validator;

/// A cohort: one tumour type, one molecular alteration and one drug under an agreement, grown in
/// stages as outcomes arrive. Carries no patient data.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-6666-7000-8000-000000000011",
    "agreement_id": "01937c4e-4444-7000-8000-0000000000ee",
    "drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "tumour_type": "non-small cell lung cancer",
    "alteration": "ALK fusion",
    "stage": "stage_2",
    "status": "open",
    "stage1_size": 8,
    "stage2_size": 24,
    "stage2_target": 1,
    "expansion_target": 5,
    "expansion_size": null,
    "stage_limit": 24,
    "enrolled": 9,
    "benefits": 2,
    "pending": 3,
    "evaluated": 6,
    "closed_reason": null,
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
    "version": 2
}))]
pub struct Cohort {
    pub id: Id,
    pub agreement_id: Id,
    pub drug_id: Id,
    /// The company (the agreement's).
    pub organisation_id: Id,
    pub tumour_type: String,
    pub alteration: String,
    pub stage: CohortStage,
    pub status: CohortStatus,
    pub stage1_size: i32,
    pub stage2_size: i32,
    /// Patients with benefit in stage 1 that open stage 2.
    pub stage2_target: i32,
    /// Patients with benefit in stage 2 that make the cohort eligible for expansion.
    pub expansion_target: i32,
    pub expansion_size: Option<i32>,
    /// Patients the current stage may hold in all.
    pub stage_limit: i32,
    /// Patients in the cohort (active allocations).
    pub enrolled: i32,
    /// Of them, with clinical benefit at week 16.
    pub benefits: i32,
    /// Of them, not evaluated yet.
    pub pending: i32,
    /// Of them, evaluated (with or without benefit).
    pub evaluated: i32,
    pub closed_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new cohort (the secretariat). The drug must be covered by the agreement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "agreement_id": "01937c4e-4444-7000-8000-0000000000ee",
    "drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "tumour_type": "non-small cell lung cancer",
    "alteration": "ALK fusion",
    "stage1_size": 8,
    "stage2_size": 24,
    "stage2_target": 1,
    "expansion_target": 5
}))]
pub struct CreateCohort {
    pub agreement_id: Id,
    pub drug_id: Id,
    #[schema(min_length = 1, max_length = 200)]
    pub tumour_type: String,
    #[schema(min_length = 1, max_length = 200)]
    pub alteration: String,
    /// 8 when absent.
    pub stage1_size: Option<i32>,
    /// 24 when absent: the patients of stages 1 and 2 together.
    pub stage2_size: Option<i32>,
    /// 1 when absent.
    pub stage2_target: Option<i32>,
    /// 5 when absent.
    pub expansion_target: Option<i32>,
}

/// The plan of a new cohort, with defaults filled in.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub tumour_type: String,
    pub alteration: String,
    pub stage1_size: i32,
    pub stage2_size: i32,
    pub stage2_target: i32,
    pub expansion_target: i32,
}

impl CreateCohort {
    pub fn plan(&self) -> Plan {
        Plan {
            tumour_type: self.tumour_type.trim().to_owned(),
            alteration: self.alteration.trim().to_owned(),
            stage1_size: self.stage1_size.unwrap_or(8),
            stage2_size: self.stage2_size.unwrap_or(24),
            stage2_target: self.stage2_target.unwrap_or(1),
            expansion_target: self.expansion_target.unwrap_or(5),
        }
    }
}

pub fn validate(p: &Plan) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("tumour_type", &p.tumour_type, 200);
    v.text("alteration", &p.alteration, 200);
    v.check(
        (1..=1000).contains(&p.stage1_size),
        "stage1_size",
        "out_of_range",
        "must be from 1 to 1000",
    );
    v.check(
        p.stage2_size > p.stage1_size && p.stage2_size <= 10_000,
        "stage2_size",
        "out_of_range",
        "must be more than stage1_size, at most 10000",
    );
    v.check(
        p.stage2_target >= 1 && p.stage2_target <= p.stage1_size,
        "stage2_target",
        "out_of_range",
        "must be from 1 to stage1_size",
    );
    v.check(
        p.expansion_target >= 1 && p.expansion_target <= p.stage2_size,
        "expansion_target",
        "out_of_range",
        "must be from 1 to stage2_size",
    );
    v.finish()
}

/// Opening the expansion stage of a cohort eligible for it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"size": 20, "reason": "5 of 24 with clinical benefit", "decision_reference": "BOARD-2026-30"}))]
pub struct OpenExpansion {
    /// Patients the expansion adds to the 24 of stage 2 (1 to 10000).
    pub size: i32,
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    #[schema(max_length = 200)]
    pub decision_reference: Option<String>,
}

impl OpenExpansion {
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut v = Validator::new();
        v.check(
            (1..=10_000).contains(&self.size),
            "size",
            "out_of_range",
            "must be from 1 to 10000",
        );
        v.text("reason", &self.reason, 1000);
        v.optional_text(
            "decision_reference",
            self.decision_reference.as_deref(),
            200,
        );
        v.finish()
    }
}

/// Closing a cohort: it takes no more patients.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The company withdrew the drug"}))]
pub struct CloseCohort {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// One change of a cohort's stage or status.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-7777-7000-8000-000000000022",
    "from_stage": "stage_1", "to_stage": "stage_2",
    "from_status": "open", "to_status": "open",
    "reason": "1 of 8 patients with clinical benefit in stage 1",
    "enrolled": 8, "benefits": 1,
    "actor_user_id": null,
    "occurred_at": "2026-11-23T10:00:00Z"
}))]
pub struct CohortEvent {
    pub id: Id,
    pub from_stage: Option<CohortStage>,
    pub to_stage: CohortStage,
    pub from_status: Option<CohortStatus>,
    pub to_status: CohortStatus,
    pub reason: Option<String>,
    pub enrolled: i32,
    pub benefits: i32,
    /// Who made the change; `null` for the service applying the plan on its own.
    pub actor_user_id: Option<Id>,
    pub occurred_at: DateTime<Utc>,
}

/// A cohort's history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": "01937c4e-7777-7000-8000-000000000022", "from_stage": null, "to_stage": "stage_1",
    "from_status": null, "to_status": "open", "reason": "created", "enrolled": 0, "benefits": 0,
    "actor_user_id": "01937c4e-1111-7000-8000-0000000000bb", "occurred_at": "2026-11-23T10:00:00Z"
}]}))]
pub struct CohortHistory {
    pub items: Vec<CohortEvent>,
}

/// What the plan looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohortState {
    pub stage: CohortStage,
    pub status: CohortStatus,
    pub stage1_size: i32,
    pub stage2_size: i32,
    pub stage_limit: i32,
    pub stage2_target: i32,
    pub expansion_target: i32,
    /// Active allocations.
    pub enrolled: i32,
    /// Of them, with clinical benefit.
    pub benefits: i32,
    /// Of them, not evaluated yet.
    pub pending: i32,
}

/// Where the plan moves a cohort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub stage: CohortStage,
    pub status: CohortStatus,
    pub stage_limit: i32,
    pub reason: Option<String>,
}

/// Open while the stage has room, awaiting evaluation once it is full.
fn open_or_full(enrolled: i32, limit: i32) -> CohortStatus {
    if enrolled >= limit {
        CohortStatus::AwaitingEvaluation
    } else {
        CohortStatus::Open
    }
}

/// The plan's rule: given the cohort's counts, where it should stand; `None` when that is where
/// it stands already (only a change of stage or status is a transition).
///
/// - Closed: stays closed.
/// - Stage 1: `stage2_target` patients with benefit open stage 2 (limit `stage2_size`; awaiting
///   evaluation if already full); when even every pending patient and every free place could no
///   longer reach the target, the cohort closes; otherwise it is open, or awaiting evaluation
///   when full.
/// - Stage 2: `expansion_target` patients with benefit make it eligible for expansion; when the
///   target can no longer be reached it closes; otherwise open or awaiting evaluation.
/// - Expansion: open, or awaiting evaluation when full.
pub fn assess(s: &CohortState) -> Option<Transition> {
    if s.stage == CohortStage::Closed || s.status == CohortStatus::Closed {
        return None;
    }
    let free = (s.stage_limit - s.enrolled).max(0);
    let reachable = s.benefits + s.pending + free;
    let to = match s.stage {
        CohortStage::Closed => return None,
        CohortStage::Stage1 if s.benefits >= s.stage2_target => Transition {
            stage: CohortStage::Stage2,
            status: open_or_full(s.enrolled, s.stage2_size),
            stage_limit: s.stage2_size,
            reason: Some(format!(
                "{} of {} patients with clinical benefit in stage 1",
                s.benefits, s.enrolled
            )),
        },
        CohortStage::Stage1 if reachable < s.stage2_target => closed(
            s,
            format!(
                "no clinical benefit in stage 1: {} of {}",
                s.benefits, s.enrolled
            ),
        ),
        CohortStage::Stage2 if s.benefits >= s.expansion_target => Transition {
            stage: CohortStage::Stage2,
            status: CohortStatus::EligibleForExpansion,
            stage_limit: s.stage_limit,
            reason: Some(format!(
                "{} of {} patients with clinical benefit: eligible for expansion",
                s.benefits, s.enrolled
            )),
        },
        CohortStage::Stage2 if reachable < s.expansion_target => closed(
            s,
            format!(
                "too little clinical benefit in stage 2: {} of {}, {} needed",
                s.benefits, s.enrolled, s.expansion_target
            ),
        ),
        CohortStage::Stage1 | CohortStage::Stage2 | CohortStage::Expansion => Transition {
            stage: s.stage,
            status: open_or_full(s.enrolled, s.stage_limit),
            stage_limit: s.stage_limit,
            reason: None,
        },
    };
    (to.stage != s.stage || to.status != s.status).then_some(to)
}

fn closed(s: &CohortState, reason: String) -> Transition {
    Transition {
        stage: CohortStage::Closed,
        status: CohortStatus::Closed,
        stage_limit: s.stage_limit,
        reason: Some(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CohortStage as G;
    use CohortStatus as S;

    fn state(
        stage: G,
        status: S,
        limit: i32,
        enrolled: i32,
        benefits: i32,
        pending: i32,
    ) -> CohortState {
        CohortState {
            stage,
            status,
            stage1_size: 8,
            stage2_size: 24,
            stage_limit: limit,
            stage2_target: 1,
            expansion_target: 5,
            enrolled,
            benefits,
            pending,
        }
    }

    #[test]
    fn a_closed_cohort_stays_closed() {
        assert_eq!(assess(&state(G::Closed, S::Closed, 8, 8, 5, 0)), None);
        assert_eq!(assess(&state(G::Stage1, S::Closed, 8, 8, 5, 0)), None);
    }

    #[test]
    fn stage_1_benefit_opens_stage_2() {
        let t = assess(&state(G::Stage1, S::AwaitingEvaluation, 8, 8, 1, 7)).unwrap();
        assert_eq!((t.stage, t.status, t.stage_limit), (G::Stage2, S::Open, 24));
        assert!(t.reason.unwrap().contains("1 of 8"));
        // Already open with room: still a change of stage.
        let t = assess(&state(G::Stage1, S::Open, 8, 3, 1, 2)).unwrap();
        assert_eq!((t.stage, t.status), (G::Stage2, S::Open));
    }

    #[test]
    fn stage_2_opens_awaiting_evaluation_when_already_full() {
        let mut s = state(G::Stage1, S::AwaitingEvaluation, 8, 8, 1, 0);
        s.stage2_size = 8 + 1;
        s.enrolled = 9;
        s.stage_limit = 9;
        let t = assess(&s).unwrap();
        assert_eq!((t.stage, t.status), (G::Stage2, S::AwaitingEvaluation));
    }

    #[test]
    fn stage_1_without_any_chance_of_benefit_closes() {
        let t = assess(&state(G::Stage1, S::AwaitingEvaluation, 8, 8, 0, 0)).unwrap();
        assert_eq!((t.stage, t.status), (G::Closed, S::Closed));
        assert_eq!(t.reason.unwrap(), "no clinical benefit in stage 1: 0 of 8");
    }

    #[test]
    fn stage_1_fills_then_awaits_evaluation() {
        assert_eq!(assess(&state(G::Stage1, S::Open, 8, 7, 0, 7)), None);
        let t = assess(&state(G::Stage1, S::Open, 8, 8, 0, 8)).unwrap();
        assert_eq!((t.stage, t.status), (G::Stage1, S::AwaitingEvaluation));
        assert_eq!(t.reason, None);
        // A withdrawal frees a place: open again.
        let t = assess(&state(G::Stage1, S::AwaitingEvaluation, 8, 7, 0, 7)).unwrap();
        assert_eq!((t.stage, t.status), (G::Stage1, S::Open));
    }

    #[test]
    fn stage_2_benefit_makes_it_eligible_for_expansion() {
        let t = assess(&state(G::Stage2, S::Open, 24, 20, 5, 10)).unwrap();
        assert_eq!(
            (t.stage, t.status, t.stage_limit),
            (G::Stage2, S::EligibleForExpansion, 24)
        );
        assert_eq!(
            assess(&state(G::Stage2, S::EligibleForExpansion, 24, 22, 6, 10)),
            None
        );
    }

    #[test]
    fn stage_2_without_a_chance_of_the_target_closes() {
        // 2 benefits + 1 pending + 1 free place < 5.
        let t = assess(&state(G::Stage2, S::Open, 24, 23, 2, 1)).unwrap();
        assert_eq!((t.stage, t.status), (G::Closed, S::Closed));
        assert!(t.reason.unwrap().contains("2 of 23"));
    }

    #[test]
    fn stage_2_fills_then_awaits_evaluation() {
        assert_eq!(assess(&state(G::Stage2, S::Open, 24, 23, 2, 10)), None);
        let t = assess(&state(G::Stage2, S::Open, 24, 24, 2, 10)).unwrap();
        assert_eq!((t.stage, t.status), (G::Stage2, S::AwaitingEvaluation));
    }

    #[test]
    fn expansion_is_open_until_full() {
        assert_eq!(assess(&state(G::Expansion, S::Open, 44, 30, 9, 10)), None);
        let t = assess(&state(G::Expansion, S::Open, 44, 44, 9, 10)).unwrap();
        assert_eq!((t.stage, t.status), (G::Expansion, S::AwaitingEvaluation));
        let t = assess(&state(G::Expansion, S::AwaitingEvaluation, 44, 43, 9, 10)).unwrap();
        assert_eq!((t.stage, t.status), (G::Expansion, S::Open));
    }
}
