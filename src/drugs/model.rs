//! Drugs: API types and the rules that do not need the database.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::core::DrugStatus;
use crate::core::Id;
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// At most this many targets per drug, each at most [`TARGET_MAX`] characters.
pub const TARGETS_MAX: usize = 50;
pub const TARGET_MAX: usize = 100;

/// A drug a company contributes. Unique per company by generic name, form and strength
/// (case-insensitively).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-3333-7000-8000-0000000000dd",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "generic_name": "alectinib",
    "brand_name": "Alecensa",
    "atc_code": "L01ED03",
    "form": "capsule",
    "strength": "150 mg",
    "targets": ["ALK", "RET"],
    "status": "available",
    "available_from": "2026-01-15",
    "notes": "Second-line use in ALK-positive cohorts.",
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
    "version": 1
}))]
pub struct Drug {
    pub id: Id,
    /// The company (a pharma or biotech organisation).
    pub organisation_id: Id,
    /// The international non-proprietary name (INN).
    pub generic_name: String,
    pub brand_name: Option<String>,
    /// WHO ATC code at level 5 (e.g. `L01ED03`), in upper case.
    pub atc_code: Option<String>,
    pub form: Option<String>,
    pub strength: Option<String>,
    /// Molecular targets or alterations the drug addresses (e.g. `ALK`, `BRAF V600E`): trimmed,
    /// each once (case-insensitively), sorted; at most 50 of at most 100 characters.
    pub targets: Vec<String>,
    pub status: DrugStatus,
    /// When the drug is (or was) on offer; required while it is available.
    pub available_from: Option<NaiveDate>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new drug, registered for a company by the secretariat or the company's representatives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "generic_name": "alectinib",
    "brand_name": "Alecensa",
    "atc_code": "L01ED03",
    "form": "capsule",
    "strength": "150 mg",
    "targets": ["ALK", "RET"],
    "status": "available",
    "available_from": "2026-01-15"
}))]
pub struct CreateDrug {
    pub organisation_id: Id,
    #[schema(min_length = 1, max_length = 200)]
    pub generic_name: String,
    #[schema(max_length = 200)]
    pub brand_name: Option<String>,
    #[schema(pattern = "^([A-Z][0-9]{2}[A-Z]{2}[0-9]{2})?$")]
    pub atc_code: Option<String>,
    #[schema(max_length = 100)]
    pub form: Option<String>,
    #[schema(max_length = 100)]
    pub strength: Option<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    /// `proposed` when absent.
    pub status: Option<DrugStatus>,
    pub available_from: Option<NaiveDate>,
    pub notes: Option<String>,
}

/// Changes to a drug; absent fields stay, `null` clears an optional one, `targets` replaces the
/// whole list. A drug stays with its company.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "available", "available_from": "2026-12-01"}))]
pub struct UpdateDrug {
    #[schema(min_length = 1, max_length = 200)]
    pub generic_name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub brand_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, pattern = "^([A-Z][0-9]{2}[A-Z]{2}[0-9]{2})?$")]
    pub atc_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub form: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub strength: Option<Option<String>>,
    pub targets: Option<Vec<String>>,
    pub status: Option<DrugStatus>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<NaiveDate>)]
    pub available_from: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn clean_atc(v: Option<String>) -> Option<String> {
    clean(v).map(|s| s.to_uppercase())
}

/// Trimmed, blanks dropped, duplicates (compared case-insensitively) kept once in their first
/// spelling, sorted.
pub fn clean_targets(targets: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in targets {
        let t = t.trim().to_owned();
        if !t.is_empty() && !out.iter().any(|o| o.to_lowercase() == t.to_lowercase()) {
            out.push(t);
        }
    }
    out.sort();
    out
}

/// Whether `code` is a WHO ATC code at level 5: letter, two digits, two letters, two digits.
pub fn is_atc_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[0].is_ascii_uppercase()
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3..5].iter().all(u8::is_ascii_uppercase)
        && b[5..7].iter().all(u8::is_ascii_digit)
}

/// Whether `prefix` could start an ATC code (for the `atc` filter): up to 7 letters and digits.
pub fn is_atc_prefix(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.len() <= 7 && prefix.bytes().all(|c| c.is_ascii_alphanumeric())
}

impl CreateDrug {
    pub fn into_record(self, id: Id, now: DateTime<Utc>) -> Drug {
        Drug {
            id,
            organisation_id: self.organisation_id,
            generic_name: self.generic_name.trim().to_owned(),
            brand_name: clean(self.brand_name),
            atc_code: clean_atc(self.atc_code),
            form: clean(self.form),
            strength: clean(self.strength),
            targets: clean_targets(self.targets),
            status: self.status.unwrap_or(DrugStatus::Proposed),
            available_from: self.available_from,
            notes: clean(self.notes),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

impl UpdateDrug {
    pub fn apply(self, d: &Drug) -> Drug {
        let mut out = d.clone();
        if let Some(v) = self.generic_name {
            out.generic_name = v.trim().to_owned();
        }
        if let Some(v) = self.brand_name {
            out.brand_name = clean(v);
        }
        if let Some(v) = self.atc_code {
            out.atc_code = clean_atc(v);
        }
        if let Some(v) = self.form {
            out.form = clean(v);
        }
        if let Some(v) = self.strength {
            out.strength = clean(v);
        }
        if let Some(v) = self.targets {
            out.targets = clean_targets(v);
        }
        if let Some(v) = self.status {
            out.status = v;
        }
        if let Some(v) = self.available_from {
            out.available_from = v;
        }
        if let Some(v) = self.notes {
            out.notes = clean(v);
        }
        out
    }
}

pub fn validate(d: &Drug) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("generic_name", &d.generic_name, 200);
    v.optional_text("brand_name", d.brand_name.as_deref(), 200);
    v.optional_text("form", d.form.as_deref(), 100);
    v.optional_text("strength", d.strength.as_deref(), 100);
    if let Some(notes) = &d.notes {
        // Notes may run over several lines; only their length is bounded.
        v.check(
            notes.chars().count() <= 4000,
            "notes",
            "too_long",
            "must be at most 4000 characters",
        );
    }
    if let Some(code) = &d.atc_code {
        v.check(
            is_atc_code(code),
            "atc_code",
            "invalid_format",
            "must be a WHO ATC code at level 5, e.g. L01ED03",
        );
    }
    v.check(
        d.targets.len() <= TARGETS_MAX,
        "targets",
        "too_many",
        format!("at most {TARGETS_MAX} targets"),
    );
    for t in &d.targets {
        v.optional_text("targets", Some(t), TARGET_MAX);
    }
    v.check(
        d.status != DrugStatus::Available || d.available_from.is_some(),
        "available_from",
        "required",
        "an available drug needs the date it is available from",
    );
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atc_codes_are_level_5() {
        assert!(is_atc_code("L01ED03"));
        assert!(!is_atc_code("L01ED3"));
        assert!(!is_atc_code("L01E"));
        assert!(!is_atc_code("l01ed03"));
        assert!(!is_atc_code("L0XED03"));
    }

    #[test]
    fn targets_are_trimmed_and_deduplicated() {
        let t = clean_targets(vec![" ALK ".into(), "alk".into(), "".into(), "RET".into()]);
        assert_eq!(t, ["ALK", "RET"]);
    }
}
