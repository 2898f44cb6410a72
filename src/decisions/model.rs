//! API types of decisions and votes, and the rules that need no database (the result of a vote,
//! [`tally`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
pub use crate::core::{DecisionKind, DecisionStatus, Majority, RecusalKind, VoteChoice};
use crate::error::ApiError;
use crate::organisations::model::patch_field;
use crate::validation::Validator;

/// The result of a vote by its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Votes (yes, no or abstain) the quorum needs: `ceil(eligible × quorum_percent / 100)`.
    pub quorum: i32,
    pub quorum_reached: bool,
    pub adopted: bool,
}

/// The votes the quorum needs of `eligible` voters.
pub fn quorum_of(eligible: i32, quorum_percent: i32) -> i32 {
    let (e, p) = (
        i64::from(eligible.max(0)),
        i64::from(quorum_percent.clamp(0, 100)),
    );
    i32::try_from((e * p + 99) / 100).unwrap_or(i32::MAX)
}

/// Judges a vote: abstentions count towards the quorum but not towards the majority. A simple
/// majority needs more yes than no; two thirds needs `3 × yes ≥ 2 × (yes + no)` and at least one
/// yes. Without quorum nothing is adopted.
pub fn tally(
    eligible: i32,
    quorum_percent: i32,
    majority: Majority,
    yes: i32,
    no: i32,
    abstain: i32,
) -> Tally {
    let quorum = quorum_of(eligible, quorum_percent);
    let quorum_reached = yes + no + abstain >= quorum;
    let majority_reached = match majority {
        Majority::Simple => yes > no,
        Majority::TwoThirds => yes > 0 && 3 * i64::from(yes) >= 2 * i64::from(yes + no),
    };
    Tally {
        quorum,
        quorum_reached,
        adopted: quorum_reached && majority_reached,
    }
}

/// The counts and outcome of a closed vote.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"yes": 5, "no": 1, "abstain": 1, "quorum_reached": true, "adopted": true}))]
pub struct VoteResult {
    pub yes: i32,
    pub no: i32,
    pub abstain: i32,
    pub quorum_reached: bool,
    pub adopted: bool,
}

/// A voter who does not vote on a decision, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "person_id": "01937c4e-2222-7000-8000-0000000000cc", "name": "Kari Nordmann",
    "kind": "own_organisation", "reason": "The decision is about their own organisation",
    "recused_at": "2026-12-01T09:00:00Z"
}))]
pub struct Recusal {
    pub person_id: Id,
    pub name: String,
    pub kind: RecusalKind,
    pub reason: Option<String>,
    pub recused_at: Option<DateTime<Utc>>,
}

/// A decision of a body, with its vote. A vote past its deadline reads as closed, with its
/// result, even before the worker has stored the close.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-8888-7000-8000-000000000031",
    "body_id": "01937c4e-8888-7000-8000-000000000001",
    "reference": "BOARD-2026-14",
    "title": "Approve the Roche agreement",
    "text": "The board approves the drug-supply agreement CONNECT-ROCHE-2021.",
    "kind": "resolution",
    "status": "adopted",
    "secret_ballot": false,
    "subject_organisation_id": null,
    "subject_agreement_id": "01937c4e-4444-7000-8000-0000000000ee",
    "meeting_id": null,
    "quorum_percent": 50,
    "majority": "simple",
    "opened_at": "2026-12-01T09:00:00Z",
    "deadline": "2026-12-08T12:00:00Z",
    "eligible_count": 7,
    "quorum": 4,
    "voted_count": 6,
    "result": {"yes": 5, "no": 1, "abstain": 0, "quorum_reached": true, "adopted": true},
    "recusals": [],
    "closed_at": "2026-12-08T12:00:00Z",
    "closed_by": null,
    "my_vote": "yes",
    "i_may_vote": false,
    "created_by": "01937c4e-1111-7000-8000-0000000000bb",
    "created_at": "2026-11-30T10:00:00Z",
    "updated_at": "2026-12-08T12:00:00Z",
    "version": 3
}))]
pub struct Decision {
    pub id: Id,
    pub body_id: Id,
    /// A reference people cite (unique).
    pub reference: Option<String>,
    pub title: String,
    pub text: String,
    pub kind: DecisionKind,
    pub status: DecisionStatus,
    /// Only the counts are kept when the vote closes.
    pub secret_ballot: bool,
    pub subject_organisation_id: Option<Id>,
    pub subject_agreement_id: Option<Id>,
    /// The meeting of the body it was proposed at, if any.
    pub meeting_id: Option<Id>,
    /// The body's rules, copied when the vote opened.
    pub quorum_percent: Option<i32>,
    pub majority: Option<Majority>,
    pub opened_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    /// Voters (not recused) when the vote opened: the quorum's base, which later recusals do
    /// not change.
    pub eligible_count: Option<i32>,
    /// Votes the quorum needs.
    pub quorum: Option<i32>,
    /// How many have voted so far.
    pub voted_count: i32,
    /// The counts and outcome, once the vote is closed.
    pub result: Option<VoteResult>,
    /// Who is recused and why.
    pub recusals: Vec<Recusal>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The user who closed the vote early (none: it closed at its deadline).
    pub closed_by: Option<Id>,
    /// The caller's own vote, if they voted (erased by a secret ballot's close).
    pub my_vote: Option<VoteChoice>,
    /// Whether the caller may vote now.
    pub i_may_vote: bool,
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A new decision, proposed to a body (its chair, co-chair, secretary, or the secretariat).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "body_id": "01937c4e-8888-7000-8000-000000000001",
    "title": "Approve the Roche agreement",
    "text": "The board approves the drug-supply agreement CONNECT-ROCHE-2021.",
    "kind": "resolution",
    "reference": "BOARD-2026-14",
    "secret_ballot": false,
    "subject_agreement_id": "01937c4e-4444-7000-8000-0000000000ee"
}))]
pub struct CreateDecision {
    pub body_id: Id,
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
    pub kind: DecisionKind,
    /// Unique when given.
    #[schema(max_length = 100)]
    pub reference: Option<String>,
    /// False when absent.
    #[serde(default)]
    pub secret_ballot: bool,
    /// The organisation the decision is about: its people are recused.
    pub subject_organisation_id: Option<Id>,
    /// The agreement the decision is about: its company's people are recused.
    pub subject_agreement_id: Option<Id>,
    /// The meeting of the same body it is proposed at (422 for another body's meeting).
    pub meeting_id: Option<Id>,
}

/// Changes to a proposed decision; absent fields stay, `null` clears the reference.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Approve the amended Roche agreement", "secret_ballot": true}))]
pub struct UpdateDecision {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    #[schema(min_length = 1, max_length = 20000)]
    pub text: Option<String>,
    pub kind: Option<DecisionKind>,
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub reference: Option<Option<String>>,
    pub secret_ballot: Option<bool>,
}

/// What of a decision a proposal may change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Draft {
    pub title: String,
    pub text: String,
    pub kind: DecisionKind,
    pub reference: Option<String>,
    pub secret_ballot: bool,
}

impl UpdateDecision {
    pub fn apply(self, d: &Draft) -> Draft {
        let mut out = d.clone();
        if let Some(v) = self.title {
            out.title = v.trim().to_owned();
        }
        if let Some(v) = self.text {
            out.text = v.trim().to_owned();
        }
        if let Some(v) = self.kind {
            out.kind = v;
        }
        if let Some(v) = self.reference {
            out.reference = clean(v);
        }
        if let Some(v) = self.secret_ballot {
            out.secret_ballot = v;
        }
        out
    }
}

/// Trims text; blank is none.
pub fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

pub fn validate(d: &Draft) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.text("title", &d.title, 300);
    v.text("text", &d.text, 20_000);
    v.optional_text("reference", d.reference.as_deref(), 100);
    v.finish()
}

/// Opening the vote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deadline": "2026-12-08T12:00:00Z"}))]
pub struct OpenVote {
    /// When the vote closes (RFC 3339, in the future).
    pub deadline: DateTime<Utc>,
}

/// Why a decision is withdrawn.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Superseded by BOARD-2026-15"}))]
pub struct Withdraw {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// A vote.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"choice": "yes"}))]
pub struct CastVote {
    pub choice: VoteChoice,
}

/// A conflict of interest a voter declares.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "I advise the company on this agreement"}))]
pub struct DeclareConflict {
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// One voter's vote, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "person_id": "01937c4e-2222-7000-8000-0000000000cc", "name": "Kari Nordmann",
    "choice": "yes", "voted_at": "2026-12-02T09:00:00Z"
}))]
pub struct Vote {
    pub person_id: Id,
    pub name: String,
    /// Erased in a secret ballot once it closes.
    pub choice: Option<VoteChoice>,
    pub voted_at: Option<DateTime<Utc>>,
}

/// The votes on a decision, as far as the caller is shown them: their own while the vote is
/// open, everyone's once it closed, the counts only for a closed secret ballot.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "decision_id": "01937c4e-8888-7000-8000-000000000031",
    "status": "open",
    "closed": false,
    "eligible_count": 7,
    "voted_count": 3,
    "result": null,
    "my_vote": "yes",
    "votes": [{"person_id": "01937c4e-2222-7000-8000-0000000000cc", "name": "Kari Nordmann",
               "choice": "yes", "voted_at": "2026-12-02T09:00:00Z"}]
}))]
pub struct Votes {
    pub decision_id: Id,
    pub status: DecisionStatus,
    pub closed: bool,
    pub eligible_count: Option<i32>,
    pub voted_count: i32,
    pub result: Option<VoteResult>,
    pub my_vote: Option<VoteChoice>,
    pub votes: Vec<Vote>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_rounded_up() {
        assert_eq!(quorum_of(7, 50), 4);
        assert_eq!(quorum_of(8, 50), 4);
        assert_eq!(quorum_of(3, 0), 0);
        assert_eq!(quorum_of(3, 100), 3);
        assert_eq!(quorum_of(0, 50), 0);
        assert_eq!(quorum_of(9, 67), 7);
    }

    #[test]
    fn a_simple_majority_needs_more_yes_than_no() {
        let t = tally(4, 50, Majority::Simple, 2, 1, 0);
        assert_eq!(
            t,
            Tally {
                quorum: 2,
                quorum_reached: true,
                adopted: true
            }
        );
        // A tie is not adopted.
        assert!(!tally(4, 50, Majority::Simple, 2, 2, 0).adopted);
        // Abstentions count for the quorum, not the majority.
        let t = tally(4, 50, Majority::Simple, 1, 0, 3);
        assert!(t.quorum_reached && t.adopted);
        assert!(!tally(4, 50, Majority::Simple, 0, 0, 4).adopted);
    }

    #[test]
    fn without_quorum_nothing_is_adopted() {
        let t = tally(10, 50, Majority::Simple, 4, 0, 0);
        assert_eq!(t.quorum, 5);
        assert!(!t.quorum_reached);
        assert!(!t.adopted);
        // No votes at all.
        let t = tally(5, 50, Majority::Simple, 0, 0, 0);
        assert!(!t.quorum_reached && !t.adopted);
    }

    #[test]
    fn quorum_zero_is_always_reached_but_the_majority_still_counts() {
        let t = tally(5, 0, Majority::Simple, 0, 0, 0);
        assert!(t.quorum_reached);
        assert!(!t.adopted);
        assert!(tally(5, 0, Majority::Simple, 1, 0, 0).adopted);
        assert!(!tally(0, 0, Majority::TwoThirds, 0, 0, 0).adopted);
    }

    #[test]
    fn two_thirds_is_reached_exactly_at_two_thirds() {
        // Exactly two thirds.
        assert!(tally(6, 50, Majority::TwoThirds, 2, 1, 0).adopted);
        assert!(tally(9, 50, Majority::TwoThirds, 4, 2, 3).adopted);
        // Just below.
        assert!(!tally(6, 50, Majority::TwoThirds, 3, 2, 0).adopted);
        // A tie.
        assert!(!tally(6, 50, Majority::TwoThirds, 2, 2, 0).adopted);
        // Abstentions only.
        assert!(!tally(3, 50, Majority::TwoThirds, 0, 0, 3).adopted);
        // Unanimous.
        assert!(tally(3, 50, Majority::TwoThirds, 3, 0, 0).adopted);
    }
}
