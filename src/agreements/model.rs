//! The API types of `agreements` and their rules.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::core::AgreementStatus;
use crate::core::{CohortStage, CohortStatus, Id};
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// Company-funded weeks when a new agreement does not say.
pub const DEFAULT_FUNDED_WEEKS: i32 = 16;
/// At most this many documents per agreement.
pub const DOCUMENTS_MAX: usize = 50;

/// A link to a signed document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Signed agreement", "url": "https://docs.example.org/connect/roche-2021.pdf"}))]
pub struct Document {
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[schema(
        max_length = 2048,
        pattern = "^https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?$"
    )]
    pub url: String,
}

/// A drug an agreement covers, with its own cap (if any) and how much of it is used.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "generic_name": "alectinib",
    "atc_code": "L01ED03",
    "patient_cap": 20,
    "patients_used": 3
}))]
pub struct CoveredDrug {
    pub drug_id: Id,
    pub generic_name: String,
    pub atc_code: Option<String>,
    /// The drug's own cap within the agreement; `null`: only the agreement's cap applies.
    pub patient_cap: Option<i32>,
    pub patients_used: i32,
}

/// A drug-supply agreement between the consortium and one company. Its terms are visible to the
/// secretariat and the company's representatives only.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-4444-7000-8000-0000000000ee",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "reference": "CONNECT-ROCHE-2021",
    "title": "Drug supply to IMPRESS-Norway",
    "status": "active",
    "signed_on": "2020-12-15",
    "effective_from": "2021-01-01",
    "effective_to": "2027-12-31",
    "patient_cap": 100,
    "patients_used": 12,
    "remaining": 88,
    "funded_weeks": 16,
    "documents": [{"title": "Signed agreement", "url": "https://docs.example.org/connect/roche-2021.pdf"}],
    "notes": null,
    "drugs": [{"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "generic_name": "alectinib",
               "atc_code": "L01ED03", "patient_cap": 20, "patients_used": 3}],
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
    "version": 3
}))]
pub struct Agreement {
    pub id: Id,
    /// The company (a pharma or biotech organisation).
    pub organisation_id: Id,
    /// Unique (case-insensitively).
    pub reference: String,
    pub title: String,
    pub status: AgreementStatus,
    pub signed_on: Option<NaiveDate>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    /// Patients the whole agreement may take.
    pub patient_cap: i32,
    /// Patients started under it (allocations not withdrawn).
    pub patients_used: i32,
    /// `patient_cap - patients_used`.
    pub remaining: i32,
    /// Weeks of each patient's treatment the company pays (1 to 104).
    pub funded_weeks: i32,
    pub documents: Vec<Document>,
    pub notes: Option<String>,
    /// The drugs it covers, by generic name.
    pub drugs: Vec<CoveredDrug>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// The terms that may change while the agreement is a draft (or submitted); compared for the
/// audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Terms {
    pub reference: String,
    pub title: String,
    pub signed_on: Option<NaiveDate>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    pub patient_cap: i32,
    pub funded_weeks: i32,
    pub documents: Vec<Document>,
    pub notes: Option<String>,
}

impl Terms {
    /// The first changed field that only an amendment may change once the agreement is in
    /// force (`None` when only title, notes, documents or signed_on differ).
    pub fn needs_amendment(&self, after: &Terms) -> Option<&'static str> {
        if self.reference != after.reference {
            Some("reference")
        } else if self.effective_from != after.effective_from {
            Some("effective_from")
        } else if self.effective_to != after.effective_to {
            Some("effective_to")
        } else if self.patient_cap != after.patient_cap {
            Some("patient_cap")
        } else if self.funded_weeks != after.funded_weeks {
            Some("funded_weeks")
        } else {
            None
        }
    }
}

impl Agreement {
    pub fn terms(&self) -> Terms {
        Terms {
            reference: self.reference.clone(),
            title: self.title.clone(),
            signed_on: self.signed_on,
            effective_from: self.effective_from,
            effective_to: self.effective_to,
            patient_cap: self.patient_cap,
            funded_weeks: self.funded_weeks,
            documents: self.documents.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// A new agreement (a draft), written by the company's representatives or the secretariat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "reference": "CONNECT-ROCHE-2021",
    "title": "Drug supply to IMPRESS-Norway",
    "signed_on": "2020-12-15",
    "effective_from": "2021-01-01",
    "effective_to": "2027-12-31",
    "patient_cap": 100,
    "funded_weeks": 16,
    "documents": [{"title": "Signed agreement", "url": "https://docs.example.org/connect/roche-2021.pdf"}]
}))]
pub struct CreateAgreement {
    pub organisation_id: Id,
    #[schema(min_length = 1, max_length = 100)]
    pub reference: String,
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    pub signed_on: Option<NaiveDate>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub patient_cap: i32,
    /// 16 when absent.
    #[schema(minimum = 1, maximum = 104)]
    pub funded_weeks: Option<i32>,
    #[serde(default)]
    pub documents: Vec<Document>,
    pub notes: Option<String>,
}

impl CreateAgreement {
    pub fn terms(self) -> (Id, Terms) {
        (
            self.organisation_id,
            Terms {
                reference: self.reference.trim().to_owned(),
                title: self.title.trim().to_owned(),
                signed_on: self.signed_on,
                effective_from: self.effective_from,
                effective_to: self.effective_to,
                patient_cap: self.patient_cap,
                funded_weeks: self.funded_weeks.unwrap_or(DEFAULT_FUNDED_WEEKS),
                documents: clean_documents(self.documents),
                notes: clean(self.notes),
            },
        )
    }
}

/// Changes to an agreement; absent fields stay, `null` clears an optional one, `documents`
/// replaces the whole list. While the agreement is a draft or submitted every field may change;
/// once it is active, suspended or ended only `title`, `notes`, `documents` and `signed_on` (the
/// rest changes by amendment).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Drug supply to IMPRESS-Norway 2021-2027", "patient_cap": 120}))]
pub struct UpdateAgreement {
    #[schema(min_length = 1, max_length = 100)]
    pub reference: Option<String>,
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub signed_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub effective_from: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub effective_to: Option<Option<NaiveDate>>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub patient_cap: Option<i32>,
    #[schema(minimum = 1, maximum = 104)]
    pub funded_weeks: Option<i32>,
    pub documents: Option<Vec<Document>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl UpdateAgreement {
    pub fn apply(self, t: &Terms) -> Terms {
        let mut out = t.clone();
        if let Some(v) = self.reference {
            out.reference = v.trim().to_owned();
        }
        if let Some(v) = self.title {
            out.title = v.trim().to_owned();
        }
        if let Some(v) = self.signed_on {
            out.signed_on = v;
        }
        if let Some(v) = self.effective_from {
            out.effective_from = v;
        }
        if let Some(v) = self.effective_to {
            out.effective_to = v;
        }
        if let Some(v) = self.patient_cap {
            out.patient_cap = v;
        }
        if let Some(v) = self.funded_weeks {
            out.funded_weeks = v;
        }
        if let Some(v) = self.documents {
            out.documents = clean_documents(v);
        }
        if let Some(v) = self.notes {
            out.notes = clean(v);
        }
        out
    }
}

/// A drug to cover.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "patient_cap": 20}))]
pub struct AddCoveredDrug {
    /// One of the agreement company's own drugs.
    pub drug_id: Id,
    /// The drug's own cap (at most the agreement's); absent: only the agreement's cap applies.
    #[schema(minimum = 0, maximum = 1000000)]
    pub patient_cap: Option<i32>,
}

/// Why a transition is made. `reason` is required to suspend or end an agreement.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Approved by the board", "decision_reference": "BOARD-2026-14"}))]
pub struct TransitionRequest {
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
    /// The board's or the secretariat's decision, if any (filled from `decision_id`'s reference
    /// when absent).
    #[schema(max_length = 200)]
    pub decision_reference: Option<String>,
    /// An adopted decision about this agreement that approved the step.
    pub decision_id: Option<Id>,
}

/// A drug an amendment adds, or whose cap it changes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "patient_cap": 30}))]
pub struct AmendedDrug {
    pub drug_id: Id,
    /// The drug's cap; `null`: only the agreement's cap applies.
    #[schema(minimum = 0, maximum = 1000000)]
    pub patient_cap: Option<i32>,
}

/// An amendment of an active or suspended agreement (the secretariat): what changes, and why. A
/// cap can never be set below what is already used.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "reason": "Extended by the board",
    "decision_reference": "BOARD-2026-21",
    "patient_cap": 120,
    "effective_to": "2028-12-31",
    "drugs": [{"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "patient_cap": 30}],
    "remove_drugs": []
}))]
pub struct Amendment {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
    #[schema(max_length = 200)]
    pub decision_reference: Option<String>,
    #[schema(minimum = 0, maximum = 1000000)]
    pub patient_cap: Option<i32>,
    #[schema(minimum = 1, maximum = 104)]
    pub funded_weeks: Option<i32>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub effective_to: Option<Option<NaiveDate>>,
    #[serde(default)]
    pub drugs: Vec<AmendedDrug>,
    #[serde(default)]
    pub remove_drugs: Vec<Id>,
}

/// One entry of an agreement's history: a transition, or an amendment with what it changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-5555-7000-8000-0000000000ff",
    "kind": "amended",
    "from_status": "active",
    "to_status": "active",
    "reason": "Extended by the board",
    "decision_reference": "BOARD-2026-21",
    "decision_id": null,
    "changes": {"patient_cap": {"from": 100, "to": 120}},
    "actor_user_id": "01937c4e-1111-7000-8000-0000000000bb",
    "occurred_at": "2026-11-23T10:00:00Z"
}))]
pub struct AgreementEvent {
    pub id: Id,
    /// `created`, `submitted`, `activated`, `suspended`, `ended` or `amended`.
    pub kind: String,
    pub from_status: Option<AgreementStatus>,
    pub to_status: AgreementStatus,
    pub reason: Option<String>,
    pub decision_reference: Option<String>,
    /// For an amendment: `{"field": {"from": …, "to": …}}`.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
    /// The adopted decision cited, if any.
    pub decision_id: Option<Id>,
    pub actor_user_id: Option<Id>,
    pub occurred_at: DateTime<Utc>,
}

/// The history of an agreement, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": "01937c4e-5555-7000-8000-0000000000ff", "kind": "created", "from_status": null,
    "to_status": "draft", "reason": null, "decision_reference": null, "decision_id": null, "changes": null,
    "actor_user_id": "01937c4e-1111-7000-8000-0000000000bb", "occurred_at": "2026-11-23T10:00:00Z"
}]}))]
pub struct AgreementHistory {
    pub items: Vec<AgreementEvent>,
}

/// The drugs an agreement covers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{"drug_id": "01937c4e-3333-7000-8000-0000000000dd",
    "generic_name": "alectinib", "atc_code": "L01ED03", "patient_cap": 20, "patients_used": 3}]}))]
pub struct CoveredDrugs {
    pub items: Vec<CoveredDrug>,
}

/// A company contributing under an active agreement.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": "01937c4e-0000-7000-8000-0000000000aa", "name": "Roche Norge AS", "drug_count": 8}))]
pub struct SummaryCompany {
    pub id: Id,
    pub name: String,
    /// Drugs covered by its active agreements.
    pub drug_count: i64,
}

/// A drug available under an active agreement.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "generic_name": "alectinib",
    "brand_name": "Alecensa", "atc_code": "L01ED03", "targets": ["ALK"],
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "company": "Roche Norge AS"}))]
pub struct SummaryDrug {
    pub drug_id: Id,
    pub generic_name: String,
    pub brand_name: Option<String>,
    pub atc_code: Option<String>,
    pub targets: Vec<String>,
    pub organisation_id: Id,
    pub company: String,
}

/// A cohort not closed, under an active agreement.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"cohort_id": "01937c4e-6666-7000-8000-000000000011",
    "agreement_id": "01937c4e-4444-7000-8000-0000000000ee", "tumour_type": "non-small cell lung cancer",
    "alteration": "ALK fusion", "drug_id": "01937c4e-3333-7000-8000-0000000000dd", "drug": "alectinib",
    "stage": "stage_1", "status": "open"}))]
pub struct SummaryCohort {
    pub cohort_id: Id,
    pub agreement_id: Id,
    pub tumour_type: String,
    pub alteration: String,
    pub drug_id: Id,
    /// The drug's generic name.
    pub drug: String,
    pub stage: CohortStage,
    pub status: CohortStatus,
}

/// What every member sees of the agreements: who contributes, which drugs, which cohorts are
/// open. No caps and no usage.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "companies": [{"id": "01937c4e-0000-7000-8000-0000000000aa", "name": "Roche Norge AS", "drug_count": 1}],
    "drugs": [{"drug_id": "01937c4e-3333-7000-8000-0000000000dd", "generic_name": "alectinib",
        "brand_name": "Alecensa", "atc_code": "L01ED03", "targets": ["ALK"],
        "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "company": "Roche Norge AS"}],
    "cohorts": [{"cohort_id": "01937c4e-6666-7000-8000-000000000011",
        "agreement_id": "01937c4e-4444-7000-8000-0000000000ee", "tumour_type": "non-small cell lung cancer",
        "alteration": "ALK fusion", "drug_id": "01937c4e-3333-7000-8000-0000000000dd", "drug": "alectinib",
        "stage": "stage_1", "status": "open"}]
}))]
pub struct ConsortiumSummary {
    /// By name.
    pub companies: Vec<SummaryCompany>,
    /// By generic name.
    pub drugs: Vec<SummaryDrug>,
    /// By tumour type and alteration.
    pub cohorts: Vec<SummaryCohort>,
}

/// A lifecycle step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Submit,
    Activate,
    Suspend,
    End,
}

impl Step {
    /// The statuses the step starts from, and where it leads.
    pub fn from_to(self) -> (&'static [AgreementStatus], AgreementStatus) {
        use AgreementStatus as S;
        match self {
            Step::Submit => (&[S::Draft], S::Submitted),
            Step::Activate => (&[S::Submitted, S::Suspended], S::Active),
            Step::Suspend => (&[S::Active], S::Suspended),
            Step::End => (&[S::Active, S::Suspended], S::Ended),
        }
    }

    /// The event kind recorded.
    pub fn kind(self) -> &'static str {
        match self {
            Step::Submit => "submitted",
            Step::Activate => "activated",
            Step::Suspend => "suspended",
            Step::End => "ended",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Activate => "activate",
            Step::Suspend => "suspend",
            Step::End => "end",
        }
    }

    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Suspend | Step::End)
    }
}

pub fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn clean_documents(docs: Vec<Document>) -> Vec<Document> {
    docs.into_iter()
        .map(|d| Document {
            title: d.title.trim().to_owned(),
            url: d.url.trim().to_owned(),
        })
        .collect()
}

/// Checks a cap: at least 0 and at most a million.
pub fn check_cap(v: &mut Validator, field: &str, cap: i32) {
    v.check(
        (0..=1_000_000).contains(&cap),
        field,
        "out_of_range",
        "must be from 0 to 1000000",
    );
}

pub fn check_funded_weeks(v: &mut Validator, weeks: i32) {
    v.check(
        (1..=104).contains(&weeks),
        "funded_weeks",
        "out_of_range",
        "must be from 1 to 104",
    );
}

pub fn validate(t: &Terms) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("reference", &t.reference, 100);
    v.text("title", &t.title, 300);
    if let Some(notes) = &t.notes {
        v.check(
            notes.chars().count() <= 4000,
            "notes",
            "too_long",
            "must be at most 4000 characters",
        );
    }
    check_cap(&mut v, "patient_cap", t.patient_cap);
    check_funded_weeks(&mut v, t.funded_weeks);
    if let (Some(from), Some(to)) = (t.effective_from, t.effective_to) {
        v.check(
            to >= from,
            "effective_to",
            "before_start",
            "must not be before effective_from",
        );
    }
    v.check(
        t.documents.len() <= DOCUMENTS_MAX,
        "documents",
        "too_many",
        format!("at most {DOCUMENTS_MAX} documents"),
    );
    for d in &t.documents {
        v.text("documents", &d.title, 300);
        v.url("documents", Some(&d.url));
    }
    v.finish()
}

/// A transition's reason and decision reference: trimmed, bounded, the reason present when the
/// step needs one.
pub fn validate_transition(step: Step, req: &TransitionRequest) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if step.needs_reason() {
        v.check(
            req.reason.as_deref().is_some_and(|r| !r.trim().is_empty()),
            "reason",
            "required",
            format!("a reason is required to {} an agreement", step.path()),
        );
    }
    v.optional_text("reason", req.reason.as_deref(), 1000);
    v.optional_text("decision_reference", req.decision_reference.as_deref(), 200);
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            reference: "R".into(),
            title: "T".into(),
            signed_on: None,
            effective_from: None,
            effective_to: None,
            patient_cap: 10,
            funded_weeks: 16,
            documents: vec![],
            notes: None,
        }
    }

    #[test]
    fn only_some_fields_change_without_an_amendment() {
        let before = terms();
        let mut after = before.clone();
        after.title = "New".into();
        after.notes = Some("n".into());
        assert_eq!(before.needs_amendment(&after), None);
        after.patient_cap = 11;
        assert_eq!(before.needs_amendment(&after), Some("patient_cap"));
    }

    #[test]
    fn steps_lead_from_their_statuses() {
        assert_eq!(Step::Activate.from_to().1, AgreementStatus::Active);
        assert!(Step::End.from_to().0.contains(&AgreementStatus::Suspended));
        assert!(!Step::Submit.from_to().0.contains(&AgreementStatus::Active));
    }
}
