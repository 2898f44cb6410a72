//! Organisations: API types and the rules that do not need the database.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

pub use crate::core::MembershipStatus;
use crate::core::{Id, text_enum};
use crate::error::ApiError;
use crate::validation::{Validator, check_org_number, is_country_code};

text_enum!(
    /// What kind of organisation it is.
    OrganisationKind {
        Pharma = "pharma",
        Biotech = "biotech",
        Hospital = "hospital",
        University = "university",
        ResearchInstitute = "research_institute",
        Authority = "authority",
        PatientOrganisation = "patient_organisation",
        IndustryAssociation = "industry_association",
        Technology = "technology",
        Other = "other",
    }
);

text_enum!(
    /// Public, private or non-profit.
    Sector { Public = "public", Private = "private", NonProfit = "non_profit" }
);

text_enum!(
    /// The four Norwegian regional health authorities (for hospitals).
    HealthRegion {
        /// Helse Sør-Øst
        SouthEast = "south_east",
        /// Helse Vest
        West = "west",
        /// Helse Midt-Norge
        Central = "central",
        /// Helse Nord
        North = "north",
    }
);

/// An organisation in the register.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-0000-7000-8000-0000000000aa",
    "name": "Roche Norge AS",
    "short_name": "Roche",
    "kind": "pharma",
    "sector": "private",
    "org_number": "974760673",
    "country": "NO",
    "website": "https://www.roche.no",
    "health_region": null,
    "trial_site": false,
    "membership_status": "partner",
    "founding_partner": true,
    "joined_on": "2021-01-01",
    "left_on": null,
    "archived_at": null,
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:05:00Z",
    "version": 2
}))]
pub struct Organisation {
    pub id: Id,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: OrganisationKind,
    pub sector: Sector,
    /// Norwegian organisation number (nine digits, mod-11 check digit); optional for foreign companies.
    pub org_number: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    pub website: Option<String>,
    /// Only for hospitals.
    pub health_region: Option<HealthRegion>,
    /// The organisation runs IMPRESS-Norway treatment (a hospital can be a trial site without being a member).
    pub trial_site: bool,
    /// Changed only through `POST /organisations/{id}/membership-changes`.
    pub membership_status: MembershipStatus,
    pub founding_partner: bool,
    /// When it last became a member (partner or observer), from the history.
    pub joined_on: Option<NaiveDate>,
    /// When it withdrew, from the history; cleared when it rejoins.
    pub left_on: Option<NaiveDate>,
    /// Set when archived; archived organisations are hidden from everyone but admins.
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; sent as the `ETag`.
    pub version: i32,
}

/// A new organisation. It starts with membership status `none`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Novartis Norge AS",
    "short_name": "Novartis",
    "kind": "pharma",
    "sector": "private",
    "org_number": "974760673",
    "country": "NO",
    "website": "https://www.novartis.no"
}))]
pub struct CreateOrganisation {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 50)]
    pub short_name: Option<String>,
    pub kind: OrganisationKind,
    pub sector: Sector,
    #[schema(pattern = "^([0-9]{9})?$")]
    pub org_number: Option<String>,
    /// Defaults to `NO`.
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    #[schema(
        max_length = 2048,
        pattern = "^(https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?)?$"
    )]
    pub website: Option<String>,
    pub health_region: Option<HealthRegion>,
    #[serde(default)]
    pub trial_site: bool,
    #[serde(default)]
    pub founding_partner: bool,
}

/// `Option<Option<T>>` for PATCH: absent = leave, `null` = clear, value = set.
pub fn patch_field<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to an organisation; absent fields stay as they are, `null` clears an optional field.
/// Representatives may change every field here but `trial_site` and `founding_partner`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"website": "https://www.roche.no/connect", "short_name": "Roche"}))]
pub struct UpdateOrganisation {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub short_name: Option<Option<String>>,
    pub kind: Option<OrganisationKind>,
    pub sector: Option<Sector>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, pattern = "^([0-9]{9})?$")]
    pub org_number: Option<Option<String>>,
    #[schema(pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^(https?://[!-.0-~]*\\.[!-.0-~]*(/[!-~]*)?)?$")]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<HealthRegion>)]
    pub health_region: Option<Option<HealthRegion>>,
    pub trial_site: Option<bool>,
    pub founding_partner: Option<bool>,
}

impl UpdateOrganisation {
    /// Fields only the secretariat may change.
    pub fn admin_only_fields(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if self.trial_site.is_some() {
            f.push("trial_site");
        }
        if self.founding_partner.is_some() {
            f.push("founding_partner");
        }
        f
    }

    /// Applies the changes to a copy of the record.
    pub fn apply(self, org: &Organisation) -> Organisation {
        let mut o = org.clone();
        if let Some(v) = self.name {
            o.name = v.trim().to_owned();
        }
        if let Some(v) = self.short_name {
            o.short_name = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(v) = self.kind {
            o.kind = v;
        }
        if let Some(v) = self.sector {
            o.sector = v;
        }
        if let Some(v) = self.org_number {
            o.org_number = v.map(|s| s.replace(' ', "")).filter(|s| !s.is_empty());
        }
        if let Some(v) = self.country {
            o.country = v.trim().to_owned();
        }
        if let Some(v) = self.website {
            o.website = v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        }
        if let Some(v) = self.health_region {
            o.health_region = v;
        }
        if let Some(v) = self.trial_site {
            o.trial_site = v;
        }
        if let Some(v) = self.founding_partner {
            o.founding_partner = v;
        }
        o
    }
}

impl CreateOrganisation {
    pub fn into_record(self, id: Id, now: DateTime<Utc>) -> Organisation {
        Organisation {
            id,
            name: self.name.trim().to_owned(),
            short_name: self
                .short_name
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            kind: self.kind,
            sector: self.sector,
            org_number: self
                .org_number
                .map(|s| s.replace(' ', ""))
                .filter(|s| !s.is_empty()),
            country: self
                .country
                .map_or_else(|| "NO".to_owned(), |c| c.trim().to_owned()),
            website: self
                .website
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            health_region: self.health_region,
            trial_site: self.trial_site,
            membership_status: MembershipStatus::None,
            founding_partner: self.founding_partner,
            joined_on: None,
            left_on: None,
            archived_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// The rules every organisation record keeps.
pub fn validate(o: &Organisation) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("name", &o.name, 200);
    v.optional_text("short_name", o.short_name.as_deref(), 50);
    v.check(
        is_country_code(&o.country),
        "country",
        "invalid_format",
        "must be an ISO 3166-1 alpha-2 code such as NO",
    );
    if let Some(n) = &o.org_number
        && let Err((code, message)) = check_org_number(n)
    {
        v.add("org_number", code, message);
    }
    v.url("website", o.website.as_deref());
    v.check(
        o.health_region.is_none() || o.kind == OrganisationKind::Hospital,
        "health_region",
        "not_applicable",
        "only hospitals belong to a health region",
    );
    v.finish()
}

/// One change of membership status, as kept in the history.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-1111-7000-8000-0000000000bb",
    "organisation_id": "01937c4e-0000-7000-8000-0000000000aa",
    "from_status": "applicant",
    "to_status": "partner",
    "effective_date": "2021-01-01",
    "reason": "Admitted by the board",
    "decision_reference": "BOARD-2020-14",
    "decision_id": null,
    "changed_by": "01937c4e-0000-7000-8000-000000000001",
    "recorded_at": "2026-11-23T10:05:00Z"
}))]
pub struct MembershipChange {
    pub id: Id,
    pub organisation_id: Id,
    pub from_status: MembershipStatus,
    pub to_status: MembershipStatus,
    pub effective_date: NaiveDate,
    pub reason: String,
    /// The board decision, if any (e.g. a case number).
    pub decision_reference: Option<String>,
    /// The adopted decision that approved it, when it was cited.
    pub decision_id: Option<Id>,
    /// The user who recorded it.
    pub changed_by: Option<Id>,
    pub recorded_at: DateTime<Utc>,
}

/// A change of membership status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "to_status": "partner",
    "effective_date": "2021-01-01",
    "reason": "Admitted by the board",
    "decision_reference": "BOARD-2020-14"
}))]
pub struct CreateMembershipChange {
    pub to_status: MembershipStatus,
    /// When the change takes effect: not in the future, and not before the previous change.
    pub effective_date: NaiveDate,
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
    /// Filled from the cited decision's reference when absent.
    #[schema(max_length = 200)]
    pub decision_reference: Option<String>,
    /// An adopted decision about this organisation that approved the change.
    pub decision_id: Option<Id>,
}

impl CreateMembershipChange {
    /// Checks the request against the current status and the last change's date.
    pub fn validate(
        &self,
        from: MembershipStatus,
        last_effective: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<(), ApiError> {
        let mut v = Validator::new();
        v.text("reason", &self.reason, 2000);
        v.optional_text(
            "decision_reference",
            self.decision_reference.as_deref(),
            200,
        );
        if !from.allowed_next().contains(&self.to_status) {
            let next: Vec<&str> = from.allowed_next().iter().map(|s| s.as_str()).collect();
            v.add(
                "to_status",
                "invalid_transition",
                format!(
                    "from {from} the status can change to {} only",
                    next.join(", ")
                ),
            );
        }
        if self.effective_date > today {
            v.add(
                "effective_date",
                "in_future",
                "must not be in the future: record the change when it takes effect",
            );
        }
        if let Some(last) = last_effective
            && self.effective_date < last
        {
            v.add(
                "effective_date",
                "before_previous_change",
                format!("must not be before the previous change ({last})"),
            );
        }
        v.finish()
    }
}

/// The membership dates that follow from a change.
pub fn membership_dates(
    from: MembershipStatus,
    to: MembershipStatus,
    effective: NaiveDate,
    joined: Option<NaiveDate>,
    left: Option<NaiveDate>,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    use MembershipStatus::*;
    let rejoining = to.is_member() && matches!(from, None | Applicant | Withdrawn);
    match to {
        _ if rejoining => (Some(effective), Option::None),
        Withdrawn => (joined, Some(effective)),
        _ => (joined, left),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipStatus as S;

    fn change(to: S, date: &str) -> CreateMembershipChange {
        CreateMembershipChange {
            to_status: to,
            effective_date: date.parse().unwrap(),
            reason: "board decision".into(),
            decision_reference: None,
            decision_id: None,
        }
    }

    #[test]
    fn withdrawn_returns_only_through_applicant() {
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        assert!(
            change(S::Partner, "2026-01-01")
                .validate(S::Withdrawn, None, today)
                .is_err()
        );
        assert!(
            change(S::Applicant, "2026-01-01")
                .validate(S::Withdrawn, None, today)
                .is_ok()
        );
        assert!(
            change(S::Partner, "2026-01-01")
                .validate(S::Applicant, None, today)
                .is_ok()
        );
    }

    #[test]
    fn dates_must_be_ordered_and_not_in_the_future() {
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        let e = change(S::Partner, "2026-12-01")
            .validate(S::Applicant, None, today)
            .unwrap_err();
        assert!(matches!(e, ApiError::Validation(ref f) if f[0].code == "in_future"));
        let e = change(S::Partner, "2026-01-01")
            .validate(S::Applicant, Some("2026-02-01".parse().unwrap()), today)
            .unwrap_err();
        assert!(matches!(e, ApiError::Validation(ref f) if f[0].code == "before_previous_change"));
    }

    #[test]
    fn joined_and_left_follow_the_history() {
        let d = |s: &str| -> NaiveDate { s.parse().unwrap() };
        assert_eq!(
            membership_dates(S::Applicant, S::Partner, d("2021-01-01"), None, None),
            (Some(d("2021-01-01")), None)
        );
        assert_eq!(
            membership_dates(
                S::Partner,
                S::Observer,
                d("2022-01-01"),
                Some(d("2021-01-01")),
                None
            ),
            (Some(d("2021-01-01")), None)
        );
        assert_eq!(
            membership_dates(
                S::Partner,
                S::Withdrawn,
                d("2023-01-01"),
                Some(d("2021-01-01")),
                None
            ),
            (Some(d("2021-01-01")), Some(d("2023-01-01")))
        );
        assert_eq!(
            membership_dates(
                S::Applicant,
                S::Partner,
                d("2024-01-01"),
                Some(d("2021-01-01")),
                Some(d("2023-01-01"))
            ),
            (Some(d("2024-01-01")), None)
        );
        assert_eq!(
            membership_dates(
                S::Suspended,
                S::Partner,
                d("2024-06-01"),
                Some(d("2021-01-01")),
                None
            ),
            (Some(d("2021-01-01")), None)
        );
    }

    #[test]
    fn health_region_only_for_hospitals() {
        let now = Utc::now();
        let mut o = CreateOrganisation {
            name: "Roche Norge AS".into(),
            short_name: None,
            kind: OrganisationKind::Pharma,
            sector: Sector::Private,
            org_number: None,
            country: None,
            website: None,
            health_region: Some(HealthRegion::SouthEast),
            trial_site: false,
            founding_partner: false,
        }
        .into_record(Id::new(), now);
        assert!(validate(&o).is_err());
        o.kind = OrganisationKind::Hospital;
        assert!(validate(&o).is_ok());
    }
}
