//! The access policy, in one place: who may see and do what to which record.
//!
//! - An **admin** (the secretariat) sees and does everything.
//! - A **representative** acts for one organisation, and that organisation's membership status
//!   bounds what they may do (their role's name does not: when an observer becomes a partner, its
//!   representatives gain partner rights with no other change):
//!
//! | status of their organisation | sees                                   | may edit                          |
//! |------------------------------|----------------------------------------|-----------------------------------|
//! | partner                      | member organisations, their people     | own organisation's profile, people; consortium records |
//! | observer                     | member organisations, their people     | own organisation's profile, people |
//! | applicant                    | own organisation                       | own organisation's profile, people |
//! | none, suspended, withdrawn   | own organisation (read only)           | nothing                           |
//!
//! Whatever a caller may not see answers 404 (existence does not leak); what they see but may not
//! change answers 403. API tokens are further limited by their scopes.

use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

mod agreements;
mod calendar;
mod events;
mod governance;
mod meetings;
mod polls;
mod proceedings;
mod webhooks;

pub use agreements::*;
pub use calendar::*;
pub use events::*;
pub use governance::*;
pub use meetings::*;
pub use polls::*;
pub use proceedings::*;
pub use webhooks::*;

use super::caller::{Caller, Credential, Role, Scope};
use crate::core::{DrugStatus, MembershipStatus, text_enum};
use crate::db::MultiBackend;
use crate::error::ApiError;
use crate::schema::{drugs as d, organisations as o};

text_enum!(
    /// What the caller's organisation standing allows (representatives' rights follow it).
    Standing {
        Admin = "admin",
        Partner = "partner",
        Observer = "observer",
        Applicant = "applicant",
        Inactive = "inactive",
    }
);

pub fn standing(caller: &Caller) -> Standing {
    if caller.is_admin() {
        return Standing::Admin;
    }
    match caller.organisation_status {
        Some(MembershipStatus::Partner) => Standing::Partner,
        Some(MembershipStatus::Observer) => Standing::Observer,
        Some(MembershipStatus::Applicant) => Standing::Applicant,
        _ => Standing::Inactive,
    }
}

/// May read the consortium's shared records (member organisations and their people).
pub fn can_read_consortium(caller: &Caller) -> bool {
    matches!(
        standing(caller),
        Standing::Admin | Standing::Partner | Standing::Observer
    )
}

/// May write consortium records (agreements, drugs, meetings: the partner's share of the work).
pub fn can_write_consortium(caller: &Caller) -> bool {
    matches!(standing(caller), Standing::Admin | Standing::Partner)
}

/// May edit their own organisation's profile and contacts.
fn can_edit_own(caller: &Caller) -> bool {
    matches!(
        standing(caller),
        Standing::Admin | Standing::Partner | Standing::Observer | Standing::Applicant
    )
}

pub(super) fn is_own(caller: &Caller, organisation_id: Option<&str>) -> bool {
    organisation_id.is_some() && caller.organisation_id.as_deref() == organisation_id
}

/// Which organisations (and, through them, people) a caller sees in lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Everything.
    All,
    /// Member organisations (partners, observers), trial sites, and the caller's own.
    Members { own: Option<String> },
    /// Only the caller's own organisation.
    Own { own: Option<String> },
}

pub fn visibility(caller: &Caller) -> Visibility {
    match standing(caller) {
        Standing::Admin => Visibility::All,
        Standing::Partner | Standing::Observer => Visibility::Members {
            own: caller.organisation_id.clone(),
        },
        Standing::Applicant | Standing::Inactive => Visibility::Own {
            own: caller.organisation_id.clone(),
        },
    }
}

/// The facts about an organisation the policy looks at.
pub struct OrgFacts<'a> {
    pub id: &'a str,
    pub status: MembershipStatus,
    pub trial_site: bool,
    pub archived: bool,
}

pub fn organisation_visible(caller: &Caller, org: &OrgFacts<'_>) -> bool {
    match visibility(caller) {
        Visibility::All => true,
        Visibility::Members { own } => {
            own.as_deref() == Some(org.id)
                || (!org.archived && (org.status.is_member() || org.trial_site))
        }
        Visibility::Own { own } => own.as_deref() == Some(org.id),
    }
}

/// 404 unless the caller may see the organisation.
pub fn see_organisation(caller: &Caller, org: &OrgFacts<'_>) -> Result<(), ApiError> {
    if organisation_visible(caller, org) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Profile edits: admins, or the organisation's own representatives while it is a partner,
/// observer or applicant. Status, archive and founding flag stay with the admin.
pub fn edit_organisation_profile(caller: &Caller, org_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || (is_own(caller, Some(org_id)) && can_edit_own(caller)) {
        Ok(())
    } else if is_own(caller, Some(org_id)) {
        Err(ApiError::forbidden(
            "your organisation's membership does not allow changes at present",
        ))
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the organisation's own representatives may edit it",
        ))
    }
}

/// Membership history: admins and the organisation's own representatives.
pub fn see_membership_history(caller: &Caller, org_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || is_own(caller, Some(org_id)) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// A person is visible with their organisation (people of other members only to those who may
/// read the consortium); people with no organisation only to admins.
pub fn person_visible(caller: &Caller, person_org: Option<&str>, org_is_member: bool) -> bool {
    match visibility(caller) {
        Visibility::All => true,
        Visibility::Members { own } => {
            person_org.is_some() && (own.as_deref() == person_org || org_is_member)
        }
        Visibility::Own { own } => person_org.is_some() && own.as_deref() == person_org,
    }
}

/// Creating, editing or removing a contact: admins, or representatives for their own organisation
/// while its membership allows edits.
pub fn edit_person(caller: &Caller, person_org: Option<&str>) -> Result<(), ApiError> {
    if caller.is_admin() || (is_own(caller, person_org) && can_edit_own(caller)) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the organisation's own representatives may change its contacts",
        ))
    }
}

/// Whether an organisation might be hidden from the caller, so that a write naming it must first
/// check it is visible (answering 404, not 403): never for admins (they see everything) or for the
/// caller's own organisation.
pub fn may_be_hidden(caller: &Caller, org_id: &str) -> bool {
    !caller.is_admin() && !is_own(caller, Some(org_id))
}

/// Moving a contact to another organisation: admins only.
pub fn move_person(caller: &Caller) -> Result<(), ApiError> {
    admin_or(
        caller,
        "only the secretariat may move a person to another organisation",
    )
}

/// The organisation a new contact belongs to when the request names none: the caller's own, except
/// for admins, who may register contacts that belong to no organisation.
pub fn default_organisation_of_new_person(caller: &Caller) -> Option<String> {
    if caller.is_admin() {
        None
    } else {
        caller.organisation_id.clone()
    }
}

/// Archiving or restoring an organisation: admins only.
pub fn archive_organisation(caller: &Caller) -> Result<(), ApiError> {
    admin_or(
        caller,
        "only the secretariat may archive or restore organisations",
    )
}

/// Changing an organisation's membership status: admins only.
pub fn change_membership(caller: &Caller) -> Result<(), ApiError> {
    admin_or(caller, "only the secretariat may change membership status")
}

/// Fields of an organisation only the secretariat may change (status, founding flag, …): refused
/// for anyone else, naming the fields.
pub fn edit_admin_only_fields(caller: &Caller, fields: &[&str]) -> Result<(), ApiError> {
    if caller.is_admin() || fields.is_empty() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "only the secretariat may change {}",
            fields.join(", ")
        )))
    }
}

/// The facts about a drug the policy looks at.
pub struct DrugFacts<'a> {
    pub organisation_id: &'a str,
    pub status: DrugStatus,
}

/// A company's own drugs are visible to its representatives (whatever its standing) and to
/// admins; another company's drug only once it is available, and then only to those who may read
/// the consortium (partners' and observers' representatives).
pub fn drug_visible(caller: &Caller, drug: &DrugFacts<'_>) -> bool {
    match visibility(caller) {
        Visibility::All => true,
        Visibility::Members { own } => {
            own.as_deref() == Some(drug.organisation_id) || drug.status == DrugStatus::Available
        }
        Visibility::Own { own } => own.as_deref() == Some(drug.organisation_id),
    }
}

/// 404 unless the caller may see the drug.
pub fn see_drug(caller: &Caller, drug: &DrugFacts<'_>) -> Result<(), ApiError> {
    if drug_visible(caller, drug) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Registering or editing a drug: admins, or the company's own representatives while it is a
/// partner (drugs are consortium records, [`can_write_consortium`]).
pub fn edit_drug(caller: &Caller, organisation_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || (is_own(caller, Some(organisation_id)) && can_write_consortium(caller))
    {
        Ok(())
    } else if is_own(caller, Some(organisation_id)) {
        Err(ApiError::forbidden(
            "only a partner company's representatives may register and edit its drugs",
        ))
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the company's own representatives may register and edit its drugs",
        ))
    }
}

/// Whose notifications a caller lists: everyone's for admins (`None`), otherwise their own.
pub fn notification_recipients(caller: &Caller) -> Option<String> {
    (!caller.is_admin()).then(|| caller.user_id.clone())
}

/// Filtering notifications by recipient address is for admins; for others the filter is dropped
/// (they only see their own anyway).
pub fn notification_recipient_filter(caller: &Caller, wanted: Option<String>) -> Option<String> {
    wanted.filter(|_| caller.is_admin())
}

/// A notification is visible to admins and to its recipient; 404 for anyone else.
pub fn see_notification(caller: &Caller, recipient_user_id: Option<&str>) -> Result<(), ApiError> {
    if caller.is_admin() || recipient_user_id == Some(caller.user_id.as_str()) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// What only a login session may do (manage API tokens, change e-mail preferences): an API token
/// gets 403.
pub fn session_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.session_family().is_some() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this needs a login session; API tokens cannot do it",
        ))
    }
}

pub(super) fn admin_or(caller: &Caller, refusal: &str) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(refusal))
    }
}

impl Scope {
    /// The scopes a role can ever use (what its API tokens may carry; a session carries these).
    pub fn allowed_for(role: Role) -> &'static [Scope] {
        match role {
            Role::Admin => Scope::ALL,
            Role::PartnerRepresentative | Role::ObserverRepresentative => &[
                Scope::OrganisationsRead,
                Scope::OrganisationsWrite,
                Scope::PeopleRead,
                Scope::PeopleWrite,
                Scope::DrugsRead,
                Scope::DrugsWrite,
                Scope::AgreementsRead,
                Scope::AgreementsWrite,
                Scope::AllocationsRead,
                Scope::AllocationsWrite,
                Scope::BodiesRead,
                Scope::BodiesWrite,
                Scope::DecisionsRead,
                Scope::DecisionsWrite,
                Scope::MeetingsRead,
                Scope::MeetingsWrite,
            ],
        }
    }
}

impl Caller {
    /// 403 unless the credential carries `scope` (sessions carry every scope).
    pub fn require_scope(&self, scope: Scope) -> Result<(), ApiError> {
        match &self.credential {
            Credential::Session { .. } | Credential::System => Ok(()),
            Credential::ApiToken { scopes, .. } if scopes.contains(&scope) => Ok(()),
            Credential::ApiToken { .. } => Err(ApiError::InsufficientScope(scope.as_str().into())),
        }
    }

    /// 403 unless the caller is an admin (and the credential carries `scope`).
    pub fn require_admin(&self, scope: Scope) -> Result<(), ApiError> {
        self.require_scope(scope)?;
        admin_or(self, "only the secretariat (admin) may do this")
    }
}

// ---- The same rules as SQL, for lists ------------------------------------------------------------

/// A condition on `organisations`, built here so lists filter by the same rules as single reads.
pub type OrgCondition = Box<dyn BoxableExpression<o::table, MultiBackend, SqlType = Bool>>;

/// The statuses that make an organisation a member, from [`MembershipStatus::is_member`].
pub fn member_statuses() -> Vec<&'static str> {
    MembershipStatus::ALL
        .iter()
        .filter(|s| s.is_member())
        .map(|s| s.as_str())
        .collect()
}

/// Member organisations whose people and records members share: partners and observers that are
/// not archived (the condition [`person_visible`] is given as `org_is_member`).
pub fn member_organisations() -> MemberOrganisations {
    o::membership_status
        .eq_any(member_statuses())
        .and(o::archived_at.is_null())
}

/// The type of [`member_organisations`]: concrete rather than boxed, so it can also filter a
/// subquery inside another table's query.
pub type MemberOrganisations = diesel::dsl::And<
    diesel::dsl::EqAny<o::membership_status, Vec<&'static str>>,
    diesel::dsl::IsNull<o::archived_at>,
>;

/// The organisations a list shows, as SQL: the same rule as [`organisation_visible`].
/// `include_archived` is honoured for admins only; others never see archived organisations but
/// their own.
pub fn organisations_listed(vis: &Visibility, include_archived: bool) -> Option<OrgCondition> {
    match vis {
        Visibility::All if include_archived => None,
        Visibility::All => Some(Box::new(o::archived_at.is_null())),
        Visibility::Members { own } => Some(Box::new(
            o::archived_at
                .is_null()
                .and(
                    o::membership_status
                        .eq_any(member_statuses())
                        .or(o::trial_site.eq(true)),
                )
                .or(o::id.eq(own.clone().unwrap_or_default())),
        )),
        Visibility::Own { own } => Some(Box::new(o::id.eq(own.clone().unwrap_or_default()))),
    }
}

/// The people a list shows, by their organisation: the same rule as [`person_visible`]. `None`:
/// everyone. Otherwise people of `own`, plus those of organisations matching `others`.
pub struct PeopleListed {
    pub own: String,
    pub others: Option<MemberOrganisations>,
}

pub fn people_listed(vis: &Visibility) -> Option<PeopleListed> {
    match vis {
        Visibility::All => None,
        Visibility::Members { own } => Some(PeopleListed {
            own: own.clone().unwrap_or_default(),
            others: Some(member_organisations()),
        }),
        Visibility::Own { own } => Some(PeopleListed {
            own: own.clone().unwrap_or_default(),
            others: None,
        }),
    }
}

/// A condition on `drugs`, built here so lists filter by the same rules as single reads.
pub type DrugCondition = Box<dyn BoxableExpression<d::table, MultiBackend, SqlType = Bool>>;

/// The drugs a list shows, as SQL: the same rule as [`drug_visible`]. `None`: every drug.
pub fn drugs_listed(vis: &Visibility) -> Option<DrugCondition> {
    match vis {
        Visibility::All => None,
        Visibility::Members { own } => Some(Box::new(
            d::organisation_id
                .eq(own.clone().unwrap_or_default())
                .or(d::status.eq(DrugStatus::Available)),
        )),
        Visibility::Own { own } => Some(Box::new(
            d::organisation_id.eq(own.clone().unwrap_or_default()),
        )),
    }
}
