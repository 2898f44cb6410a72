//! The vocabulary of drug-supply agreements, cohorts and patient allocations: shared with the
//! access policy (which looks at an agreement's status) and with the notifications that name them.

use crate::core::text_enum;

text_enum!(
    /// Where a drug-supply agreement stands.
    AgreementStatus {
        /// Being written by the company (or the secretariat); its terms may still change.
        Draft = "draft",
        /// Sent to the secretariat for approval.
        Submitted = "submitted",
        /// In force: takes new patients between its effective dates. Its caps and drugs change
        /// only through an amendment.
        Active = "active",
        /// Paused by the secretariat: takes no new patients; patients already started continue.
        Suspended = "suspended",
        /// Over: takes no new patients, and stays as a record.
        Ended = "ended",
    }
);

text_enum!(
    /// The stage of a cohort's Simon two-stage-like plan.
    CohortStage {
        /// The first patients (8 by default).
        Stage1 = "stage_1",
        /// Opened when a stage-1 patient shows benefit: up to 24 patients in all by default.
        Stage2 = "stage_2",
        /// Opened by an admin once 5 of the 24 benefit: the company pays the first weeks and
        /// responders continue on public reimbursement.
        Expansion = "expansion",
        /// No more patients.
        Closed = "closed",
    }
);

text_enum!(
    /// Whether a cohort takes patients now.
    CohortStatus {
        /// Takes patients up to its stage's limit.
        Open = "open",
        /// The stage is full; waiting for outcomes to decide the next step.
        AwaitingEvaluation = "awaiting_evaluation",
        /// Enough patients benefited: an admin may open the expansion stage.
        EligibleForExpansion = "eligible_for_expansion",
        /// Closed, with the reason recorded.
        Closed = "closed",
    }
);

text_enum!(
    /// A patient's outcome at the week-16 evaluation.
    Outcome {
        /// Not evaluated yet.
        Pending = "pending",
        CompleteResponse = "complete_response",
        PartialResponse = "partial_response",
        StableDisease = "stable_disease",
        ProgressiveDisease = "progressive_disease",
        NotEvaluable = "not_evaluable",
        /// Treatment stopped before the evaluation.
        Discontinued = "discontinued",
    }
);

impl Outcome {
    /// Clinical benefit: a complete or partial response, or stable disease.
    pub fn is_benefit(self) -> bool {
        matches!(
            self,
            Outcome::CompleteResponse | Outcome::PartialResponse | Outcome::StableDisease
        )
    }
}

text_enum!(
    /// Who pays for a patient's treatment in a period.
    Payer {
        /// The company, for the agreement's funded weeks.
        Company = "company",
        /// Public reimbursement, for responders in an expansion cohort.
        Public = "public",
    }
);

text_enum!(
    /// Whether an allocation counts.
    AllocationStatus {
        /// A patient started under the agreement: holds a slot of each cap.
        Active = "active",
        /// Entered by mistake and withdrawn: its slots are free again.
        Withdrawn = "withdrawn",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benefit_is_a_response_or_stable_disease() {
        let benefit: Vec<Outcome> = [
            Outcome::Pending,
            Outcome::CompleteResponse,
            Outcome::PartialResponse,
            Outcome::StableDisease,
            Outcome::ProgressiveDisease,
            Outcome::NotEvaluable,
            Outcome::Discontinued,
        ]
        .into_iter()
        .filter(|o| o.is_benefit())
        .collect();
        assert_eq!(
            benefit,
            [
                Outcome::CompleteResponse,
                Outcome::PartialResponse,
                Outcome::StableDisease
            ]
        );
    }
}
