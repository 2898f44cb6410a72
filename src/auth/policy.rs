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

use super::caller::Caller;
use crate::core::MembershipStatus;
use crate::error::ApiError;

/// What the caller's organisation standing allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Admin,
    Partner,
    Observer,
    Applicant,
    Inactive,
}

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

fn is_own(caller: &Caller, organisation_id: Option<&str>) -> bool {
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
