//! Who may see and do what with drug-supply agreements, cohorts and patient allocations.
//!
//! - An agreement's **terms** (caps, dates, documents, usage) are the business of the secretariat
//!   and the owning company only: anyone else gets 404. Members see a consortium summary instead.
//! - The company's representatives (while it is a partner) draft, edit and submit its agreements;
//!   the secretariat activates, suspends, ends and amends them.
//! - **Cohorts** carry no patient data: every member sees them (and the owning company, whatever
//!   its standing); the secretariat manages them.
//! - **Allocations** are patient-level data: the secretariat, the site that entered them and the
//!   owning company's representatives see them; nobody else, observers included (404). A site's
//!   representatives start patients at their own site and record their evaluations, unless the
//!   site's membership is suspended or withdrawn (a hospital may be a site without being a member).

use super::{Visibility, can_read_consortium, can_write_consortium, is_own, visibility};
use crate::auth::caller::Caller;
use crate::core::{AgreementStatus, MembershipStatus};
use crate::error::ApiError;

// ---- Agreements -----------------------------------------------------------------------------

/// An agreement's terms are visible to admins and the owning company's representatives.
pub fn agreement_visible(caller: &Caller, company_id: &str) -> bool {
    caller.is_admin() || is_own(caller, Some(company_id))
}

/// 404 unless the caller may see the agreement's terms (and its usage).
pub fn see_agreement(caller: &Caller, company_id: &str) -> Result<(), ApiError> {
    if agreement_visible(caller, company_id) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The company whose agreements a list shows: `None` for admins (every company's), otherwise
/// the caller's own organisation (no organisation: nothing).
pub fn agreements_listed(caller: &Caller) -> Option<String> {
    (!caller.is_admin()).then(|| caller.organisation_id.clone().unwrap_or_default())
}

/// Drafting, editing or submitting an agreement: admins, or the company's own representatives
/// while it is a partner.
pub fn draft_agreement(caller: &Caller, company_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || (is_own(caller, Some(company_id)) && can_write_consortium(caller)) {
        Ok(())
    } else if is_own(caller, Some(company_id)) {
        Err(ApiError::forbidden(
            "only a partner company's representatives may draft and submit its agreements",
        ))
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the company's own representatives may draft an agreement",
        ))
    }
}

/// Editing an agreement's terms or its covered drugs: while it is a draft, those who may draft
/// it; once submitted (or in force), the secretariat only.
pub fn edit_agreement(
    caller: &Caller,
    company_id: &str,
    status: AgreementStatus,
) -> Result<(), ApiError> {
    match status {
        AgreementStatus::Draft => draft_agreement(caller, company_id),
        _ if caller.is_admin() => Ok(()),
        _ => Err(ApiError::forbidden(
            "once submitted, an agreement is changed by the secretariat (admin) only",
        )),
    }
}

/// Activating, suspending, ending or amending an agreement: the secretariat only.
pub fn decide_agreement(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the secretariat (admin) may activate, suspend, end or amend an agreement",
        ))
    }
}

/// The consortium summary (companies contributing, drugs available, cohorts open): every member
/// (partners' and observers' representatives) and admins.
pub fn see_consortium_summary(caller: &Caller) -> Result<(), ApiError> {
    if can_read_consortium(caller) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the consortium summary is for partners and observers",
        ))
    }
}

/// The consortium-wide usage overview: the secretariat only.
pub fn see_usage_overview(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the consortium-wide usage overview is for the secretariat (admin)",
        ))
    }
}

// ---- Cohorts --------------------------------------------------------------------------------

/// Cohorts (without patient data) are visible to every member, and to the owning company.
pub fn cohort_visible(caller: &Caller, company_id: &str) -> bool {
    can_read_consortium(caller) || is_own(caller, Some(company_id))
}

/// 404 unless the caller may see the cohort.
pub fn see_cohort(caller: &Caller, company_id: &str) -> Result<(), ApiError> {
    if cohort_visible(caller, company_id) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The cohorts a list shows: `None` for every cohort, otherwise only this company's.
pub fn cohorts_listed(caller: &Caller) -> Option<String> {
    match visibility(caller) {
        Visibility::All | Visibility::Members { .. } => None,
        Visibility::Own { own } => Some(own.unwrap_or_default()),
    }
}

/// Creating a cohort, opening its expansion stage or closing it: the secretariat only.
pub fn manage_cohorts(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the secretariat (admin) may create, expand or close cohorts",
        ))
    }
}

// ---- Allocations ----------------------------------------------------------------------------

/// The facts about an allocation the policy looks at.
pub struct AllocationFacts<'a> {
    /// The company whose agreement the patient is under.
    pub company_id: &'a str,
    /// The trial site that entered the patient.
    pub site_id: &'a str,
}

/// Patient-level data: admins, the owning company and the site.
pub fn allocation_visible(caller: &Caller, allocation: &AllocationFacts<'_>) -> bool {
    caller.is_admin()
        || is_own(caller, Some(allocation.company_id))
        || is_own(caller, Some(allocation.site_id))
}

/// 404 unless the caller may see the allocation.
pub fn see_allocation(caller: &Caller, allocation: &AllocationFacts<'_>) -> Result<(), ApiError> {
    if allocation_visible(caller, allocation) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Which allocations a list shows: `None` for every one, otherwise those whose company or site is
/// this organisation.
pub fn allocations_listed(caller: &Caller) -> Option<String> {
    (!caller.is_admin()).then(|| caller.organisation_id.clone().unwrap_or_default())
}

/// Starting a patient under an agreement: as [`act_for_site`], except that a caller who may see
/// neither the agreement nor act for the site learns nothing of the agreement (404).
pub fn start_patient(caller: &Caller, company_id: &str, site_id: &str) -> Result<(), ApiError> {
    if agreement_visible(caller, company_id) || is_own(caller, Some(site_id)) {
        act_for_site(caller, site_id)
    } else {
        Err(ApiError::NotFound)
    }
}

/// A site's representatives act for it unless its membership is suspended or withdrawn.
fn site_may_act(caller: &Caller) -> bool {
    !matches!(
        caller.organisation_status,
        Some(MembershipStatus::Suspended | MembershipStatus::Withdrawn)
    )
}

/// Starting a patient, recording an evaluation or withdrawing an allocation entered by mistake:
/// admins, or the site's own representatives for their own site.
pub fn act_for_site(caller: &Caller, site_id: &str) -> Result<(), ApiError> {
    if caller.is_admin() || (is_own(caller, Some(site_id)) && site_may_act(caller)) {
        Ok(())
    } else if is_own(caller, Some(site_id)) {
        Err(ApiError::forbidden(
            "a suspended or withdrawn site's representatives may not start or evaluate patients",
        ))
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the trial site's own representatives may start and evaluate patients there",
        ))
    }
}

/// The allocations list of one agreement: admins and the owning company see it whole; a trial
/// site's representatives see their own site's patients under it (`caller_is_site`: the caller's
/// organisation is a trial site); anyone else gets 404, as for the agreement itself.
pub fn see_agreement_allocations(
    caller: &Caller,
    company_id: &str,
    caller_is_site: bool,
) -> Result<(), ApiError> {
    if agreement_visible(caller, company_id) || caller_is_site {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}
