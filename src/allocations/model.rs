//! The API types of `allocations` and their rules: a pseudonymous trial code (never a name, never
//! anything shaped like a national identity number), dates that make sense, outcomes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::core::{AllocationStatus, CohortStage, Outcome, Payer};
use crate::core::{Id, text_enum};
use crate::error::ApiError;
use crate::validation::Validator;

/// A trial code is 3 to 40 characters.
pub const TRIAL_CODE_MIN: usize = 3;
pub const TRIAL_CODE_MAX: usize = 40;

/// One period of a patient's treatment and who paid for it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"payer": "company", "from_date": "2026-11-02", "to_date": "2027-02-22"}))]
pub struct FundingPeriod {
    pub payer: Payer,
    pub from_date: NaiveDate,
    /// The last day; `null` while it lasts.
    pub to_date: Option<NaiveDate>,
}

/// One patient started under an agreement: pseudonymous (a trial code, no name), at a trial
/// site, in a cohort, holding one slot of the agreement's, the drug's and the cohort stage's caps
/// while active.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-5555-7000-8000-0000000000a1",
    "agreement_id": "01937c4e-4444-7000-8000-0000000000a9",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "site_id": "01937c4e-0000-7000-8000-0000000000b5",
    "cohort_id": "01937c4e-6666-7000-8000-0000000000c0",
    "trial_code": "IMPRESS-0042",
    "cohort_stage": "stage_1",
    "started_on": "2026-11-02",
    "evaluation_due": "2027-02-22",
    "outcome": "pending",
    "evaluated_on": null,
    "status": "active",
    "withdrawn_reason": null,
    "funding": [{"payer": "company", "from_date": "2026-11-02", "to_date": "2027-02-22"}],
    "created_at": "2026-11-02T09:30:00Z",
    "updated_at": "2026-11-02T09:30:00Z",
    "version": 1
}))]
pub struct Allocation {
    pub id: Id,
    pub agreement_id: Id,
    /// The company whose agreement the patient is under.
    pub organisation_id: Id,
    pub drug_id: Id,
    /// The trial site (hospital) that started the patient.
    pub site_id: Id,
    pub cohort_id: Id,
    /// The pseudonymous trial code.
    pub trial_code: String,
    /// The cohort's stage when the patient started.
    pub cohort_stage: CohortStage,
    pub started_on: NaiveDate,
    /// The week-16 evaluation: the start plus the agreement's company-funded weeks.
    pub evaluation_due: NaiveDate,
    pub outcome: Outcome,
    pub evaluated_on: Option<NaiveDate>,
    pub status: AllocationStatus,
    pub withdrawn_reason: Option<String>,
    /// Who paid when, oldest first.
    pub funding: Vec<FundingPeriod>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A patient to start under the agreement. There is deliberately no name field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "trial_code": "IMPRESS-0042",
    "drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "site_id": "01937c4e-0000-7000-8000-0000000000b5",
    "cohort_id": "01937c4e-6666-7000-8000-0000000000c0",
    "started_on": "2026-11-02"
}))]
pub struct CreateAllocation {
    /// 3 to 40 letters, digits and `-_./`; never a national identity number.
    pub trial_code: String,
    /// A drug the agreement covers; the cohort's drug.
    pub drug_id: Id,
    /// An organisation flagged as a trial site.
    pub site_id: Id,
    /// A cohort of this agreement, open or eligible for expansion.
    pub cohort_id: Id,
    /// Not in the future, within the agreement's effective dates.
    pub started_on: NaiveDate,
}

text_enum!(
    /// A recorded week-16 outcome: any [`Outcome`] but `pending`.
    RecordedOutcome {
        CompleteResponse = "complete_response",
        PartialResponse = "partial_response",
        StableDisease = "stable_disease",
        ProgressiveDisease = "progressive_disease",
        NotEvaluable = "not_evaluable",
        /// Treatment stopped before the evaluation.
        Discontinued = "discontinued",
    }
);

impl From<RecordedOutcome> for Outcome {
    fn from(o: RecordedOutcome) -> Self {
        match o {
            RecordedOutcome::CompleteResponse => Outcome::CompleteResponse,
            RecordedOutcome::PartialResponse => Outcome::PartialResponse,
            RecordedOutcome::StableDisease => Outcome::StableDisease,
            RecordedOutcome::ProgressiveDisease => Outcome::ProgressiveDisease,
            RecordedOutcome::NotEvaluable => Outcome::NotEvaluable,
            RecordedOutcome::Discontinued => Outcome::Discontinued,
        }
    }
}

/// The week-16 evaluation of a patient.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcome": "partial_response", "evaluated_on": "2026-11-20"}))]
pub struct RecordEvaluation {
    pub outcome: RecordedOutcome,
    /// Not before the start, not in the future.
    pub evaluated_on: NaiveDate,
}

/// Why an allocation entered by mistake is withdrawn.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Entered twice: the patient is IMPRESS-0041"}))]
pub struct WithdrawAllocation {
    /// Required, at most 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Whether a run of 11 or more digits appears once spaces, dots and dashes are removed: the
/// shape of a Norwegian national identity number (fødselsnummer, D-number).
pub fn looks_like_national_id(code: &str) -> bool {
    let mut run = 0;
    for c in code.chars().filter(|c| !matches!(c, ' ' | '.' | '-')) {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 11 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

fn trial_code_char(c: char) -> bool {
    c.is_alphabetic() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/')
}

/// The rules of a new allocation that need no database.
pub fn validate_create(body: &CreateAllocation, today: NaiveDate) -> Result<(), ApiError> {
    let mut v = Validator::new();
    check_create(&mut v, body, today);
    v.finish()
}

/// [`validate_create`] into a validator that goes on to check what needs the database.
pub fn check_create(v: &mut Validator, body: &CreateAllocation, today: NaiveDate) {
    check_trial_code(v, &body.trial_code);
    v.check(
        body.started_on <= today,
        "started_on",
        "in_future",
        "a patient cannot start in the future",
    );
}

fn check_trial_code(v: &mut Validator, code: &str) {
    let len = code.chars().count();
    if looks_like_national_id(code) {
        v.add(
            "trial_code",
            "national_identity_number",
            "looks like a national identity number (11 digits): use the pseudonymous trial code, \
             never a national identity number or a name",
        );
    } else if !(TRIAL_CODE_MIN..=TRIAL_CODE_MAX).contains(&len) {
        v.add(
            "trial_code",
            "invalid_length",
            format!("must be {TRIAL_CODE_MIN} to {TRIAL_CODE_MAX} characters"),
        );
    } else if !code.chars().all(trial_code_char) {
        v.add(
            "trial_code",
            "invalid_format",
            "may contain only letters, digits and - _ . /",
        );
    }
}

/// The rules of an evaluation that need no database.
pub fn validate_evaluation(
    body: &RecordEvaluation,
    started_on: NaiveDate,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.check(
        body.evaluated_on <= today,
        "evaluated_on",
        "in_future",
        "an evaluation cannot be recorded for a future date",
    );
    v.check(
        body.evaluated_on >= started_on,
        "evaluated_on",
        "before_start",
        format!("must not be before the patient started ({started_on})"),
    );
    v.finish()
}

pub fn validate_withdrawal(body: &WithdrawAllocation) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("reason", &body.reason, 1000);
    v.finish()
}

/// The week-16 evaluation date: the start plus the company-funded weeks.
pub fn evaluation_due(started_on: NaiveDate, funded_weeks: i32) -> NaiveDate {
    started_on + chrono::Days::new(7 * funded_weeks.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str, started_on: &str) -> CreateAllocation {
        CreateAllocation {
            trial_code: code.into(),
            drug_id: Id::new(),
            site_id: Id::new(),
            cohort_id: Id::new(),
            started_on: started_on.parse().unwrap(),
        }
    }

    fn today() -> NaiveDate {
        "2026-12-06".parse().unwrap()
    }

    #[test]
    fn national_identity_numbers_are_refused_in_any_spelling() {
        for code in [
            "01019912345",
            "010199 12345",
            "010199-12345",
            "01.01.99.123.45",
            "IMP-01019912345",
            "P010199123456",
        ] {
            assert!(looks_like_national_id(code), "{code}");
            assert!(validate_create(&body(code, "2026-12-01"), today()).is_err());
        }
        for code in [
            "IMPRESS-0042",
            "0101991234",
            "0101-A-9912345",
            "IMP/2026/0001",
        ] {
            assert!(!looks_like_national_id(code), "{code}");
        }
    }

    #[test]
    fn trial_codes_are_short_plain_codes() {
        assert!(validate_create(&body("IMPRESS-0042", "2026-12-01"), today()).is_ok());
        assert!(validate_create(&body("Ø_1.2/3", "2026-12-01"), today()).is_ok());
        assert!(validate_create(&body("AB", "2026-12-01"), today()).is_err());
        assert!(validate_create(&body(&"A".repeat(41), "2026-12-01"), today()).is_err());
        assert!(validate_create(&body("Kari Nordmann", "2026-12-01"), today()).is_err());
        assert!(validate_create(&body("A=1+1", "2026-12-01"), today()).is_err());
    }

    #[test]
    fn patients_do_not_start_in_the_future() {
        assert!(validate_create(&body("IMP-1", "2026-12-06"), today()).is_ok());
        assert!(validate_create(&body("IMP-1", "2026-12-07"), today()).is_err());
    }

    #[test]
    fn evaluations_have_an_outcome_and_a_sensible_date() {
        let start: NaiveDate = "2026-08-01".parse().unwrap();
        let eval = |outcome, on: &str| RecordEvaluation {
            outcome,
            evaluated_on: on.parse().unwrap(),
        };
        assert!(
            validate_evaluation(
                &eval(RecordedOutcome::StableDisease, "2026-11-20"),
                start,
                today()
            )
            .is_ok()
        );
        assert!("pending".parse::<RecordedOutcome>().is_err());
        assert!(
            validate_evaluation(
                &eval(RecordedOutcome::StableDisease, "2026-12-07"),
                start,
                today()
            )
            .is_err()
        );
        assert!(
            validate_evaluation(
                &eval(RecordedOutcome::StableDisease, "2026-07-31"),
                start,
                today()
            )
            .is_err()
        );
    }

    #[test]
    fn evaluation_is_due_after_the_funded_weeks() {
        let start: NaiveDate = "2026-11-02".parse().unwrap();
        assert_eq!(evaluation_due(start, 16).to_string(), "2027-02-22");
    }
}
