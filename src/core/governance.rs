//! The vocabulary of governance: bodies, seats in them, decisions and votes. Shared with the access
//! policy (a seat's role decides who manages a body and who votes) and with the notifications.

use crate::core::text_enum;

text_enum!(
    /// What kind of body.
    BodyKind {
        /// The board: the chair and members from hospitals, Oslo Cancer Cluster and industry.
        Board = "board",
        /// The general assembly of all partners.
        GeneralAssembly = "general_assembly",
        /// A working group with a mandate.
        WorkingGroup = "working_group",
        /// Any other committee.
        Other = "other",
    }
);

text_enum!(
    /// Whether a body still works.
    BodyStatus {
        Active = "active",
        /// Dissolved: kept as a record; no new seats, decisions or votes.
        Dissolved = "dissolved",
    }
);

text_enum!(
    /// The majority a vote needs, of the votes cast (abstentions not counted).
    Majority {
        /// More yes than no.
        Simple = "simple",
        /// At least two thirds yes.
        TwoThirds = "two_thirds",
    }
);

text_enum!(
    /// A seat's role in a body.
    BodyRole {
        /// Leads the body; manages its members, meetings and votes.
        Chair = "chair",
        /// Stands in for the chair, with the same rights.
        CoChair = "co_chair",
        /// Runs the body's business; manages its members, meetings and votes.
        Secretary = "secretary",
        /// A voting member.
        Member = "member",
        /// Attends and reads, never votes (the only role open to people of observer organisations).
        Observer = "observer",
    }
);

impl BodyRole {
    /// Whether the seat manages the body (its members, meetings and decisions).
    pub fn manages(self) -> bool {
        matches!(
            self,
            BodyRole::Chair | BodyRole::CoChair | BodyRole::Secretary
        )
    }

    /// Whether the seat carries a vote (its organisation's standing decides the rest).
    pub fn votes(self) -> bool {
        self != BodyRole::Observer
    }
}

text_enum!(
    /// What kind of decision.
    DecisionKind {
        /// Binding on the consortium.
        Resolution = "resolution",
        /// Advice to another body or to the secretariat.
        Recommendation = "recommendation",
    }
);

text_enum!(
    /// Where a decision stands.
    DecisionStatus {
        /// Drafted; its text may still change.
        Proposed = "proposed",
        /// Open for voting until its deadline or until the chair closes it.
        Open = "open",
        /// Closed with quorum and the majority.
        Adopted = "adopted",
        /// Closed without quorum or without the majority.
        Rejected = "rejected",
        /// Taken off before it was decided.
        Withdrawn = "withdrawn",
    }
);

text_enum!(
    /// A vote.
    VoteChoice {
        Yes = "yes",
        No = "no",
        Abstain = "abstain",
    }
);

text_enum!(
    /// Why a member does not vote on a decision.
    RecusalKind {
        /// The decision is about the member's own organisation (or its agreement): set by the service.
        OwnOrganisation = "own_organisation",
        /// The member declared a conflict of interest.
        Declared = "declared",
    }
);
