//! Who may see and do what with the consortium's bodies, their members and their decisions.
//!
//! - Every member of the consortium (partners, observers) sees the **list of bodies** and their
//!   mandates; the secretariat creates, edits and dissolves them.
//! - A body's **members** are seen by the body's own members and the secretariat (others: 403,
//!   since the body itself is no secret). They are managed by the secretariat and by the body's
//!   chair, co-chair or secretary: a role within the body, on top of the account's role. A chair
//!   managing their own working group gets 403 on another group's members.
//! - A person of an **observer** organisation may only hold the observer role.
//! - A seat **votes** unless its role is observer and as long as the person's organisation is a
//!   partner (a person without an organisation, e.g. an independent chair, votes too): an
//!   organisation that is suspended or leaves stops its people counting as voting members from
//!   that day, with no other change.
//! - **Decisions** are seen by the body's members and the secretariat (anyone else: 404), and
//!   managed (proposed, edited, opened, closed, withdrawn) by those who manage the body.
//! - **Votes** are secret until the vote closes: each voter sees their own. After the close the
//!   body sees who voted how, unless the decision is a secret ballot, where only counts are kept.

use super::{admin_or, can_read_consortium};
use crate::auth::caller::Caller;
use crate::core::{BodyRole, MembershipStatus};
use crate::error::ApiError;

/// The roles of the caller's current seats in one body (empty: no seat).
pub type Seats<'a> = &'a [BodyRole];

/// Listing bodies and reading their mandates: every member of the consortium.
pub fn see_bodies(caller: &Caller) -> Result<(), ApiError> {
    if can_read_consortium(caller) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only members of the consortium see its bodies",
        ))
    }
}

/// One body: members of the consortium and anyone with a seat in it (else 404).
pub fn see_body(caller: &Caller, seats: Seats<'_>) -> Result<(), ApiError> {
    if can_read_consortium(caller) || !seats.is_empty() {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Creating, editing and dissolving bodies: the secretariat.
pub fn manage_bodies(caller: &Caller) -> Result<(), ApiError> {
    admin_or(
        caller,
        "only the secretariat (admin) creates and edits bodies",
    )
}

/// A body's member list: its members and the secretariat.
pub fn see_members(caller: &Caller, seats: Seats<'_>) -> Result<(), ApiError> {
    if caller.is_admin() || !seats.is_empty() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the body's members see its members",
        ))
    }
}

/// Whether the caller manages the body: an admin, or its chair, co-chair or secretary.
pub fn manages_body(caller: &Caller, seats: Seats<'_>) -> bool {
    caller.is_admin() || seats.iter().any(|r| r.manages())
}

/// Adding, changing and ending seats: the secretariat and the body's chair, co-chair or secretary.
pub fn manage_members(caller: &Caller, seats: Seats<'_>) -> Result<(), ApiError> {
    if manages_body(caller, seats) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the body's chair, co-chair or secretary manage its members",
        ))
    }
}

/// A role a person may hold, given their organisation's status: observers' people only observe.
pub fn seat_role_allowed(
    organisation_status: Option<MembershipStatus>,
    role: BodyRole,
) -> Result<(), ApiError> {
    if organisation_status == Some(MembershipStatus::Observer) && role != BodyRole::Observer {
        Err(ApiError::invalid(
            "role",
            "observer_only",
            "a person of an observer organisation may only hold the observer role",
        ))
    } else {
        Ok(())
    }
}

/// Whether a seat carries a vote today: not an observer's seat, and the person's organisation a
/// partner (or no organisation).
pub fn holds_vote(role: BodyRole, organisation_status: Option<MembershipStatus>) -> bool {
    role.votes() && matches!(organisation_status, None | Some(MembershipStatus::Partner))
}

/// The organisation statuses whose people vote, for queries (people without an organisation
/// vote too).
pub fn voting_statuses() -> [MembershipStatus; 1] {
    [MembershipStatus::Partner]
}

/// A body's decisions: its members and the secretariat (anyone else: 404).
pub fn see_decisions(caller: &Caller, seats: Seats<'_>) -> Result<(), ApiError> {
    if caller.is_admin() || !seats.is_empty() {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// Proposing, editing, opening, closing and withdrawing a body's decisions: those who manage it.
pub fn manage_decisions(caller: &Caller, seats: Seats<'_>) -> Result<(), ApiError> {
    if manages_body(caller, seats) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the secretariat or the body's chair, co-chair or secretary manage its decisions",
        ))
    }
}

/// What of the individual votes a caller is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VotesShown {
    /// The caller's own vote only (the vote is open).
    OwnOnly,
    /// Who voted how (closed, not a secret ballot).
    Everyone,
    /// The counts only (closed secret ballot).
    CountsOnly,
}

/// The votes a caller who may see the decision is shown.
pub fn votes_shown(closed: bool, secret_ballot: bool) -> VotesShown {
    match (closed, secret_ballot) {
        (false, _) => VotesShown::OwnOnly,
        (true, false) => VotesShown::Everyone,
        (true, true) => VotesShown::CountsOnly,
    }
}

/// Whether the caller sees every body's decisions in lists (the secretariat); others see those of
/// the bodies they sit in.
pub fn sees_all_decisions(caller: &Caller) -> bool {
    caller.is_admin()
}
