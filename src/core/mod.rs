//! The shared vocabulary every other module speaks, below everything else: ids, the clock, the
//! enum ↔ text mechanism, membership, drug, agreement, cohort and allocation status, governance (bodies, seats, decisions, votes), meetings, and the actor of a change. It depends on nothing in
//! the crate but `error`, so any module may use it without creating a cycle.

mod actor;
pub mod background;
mod clock;
mod drug_status;
mod governance;
mod ids;
mod meetings;
mod membership;
mod text_enum;
mod trial;

pub use actor::Actor;
pub use clock::{now, rfc3339, today};
pub use drug_status::DrugStatus;
pub use governance::{
    BodyKind, BodyRole, BodyStatus, DecisionKind, DecisionStatus, Majority, RecusalKind, VoteChoice,
};
pub use ids::{INVALID_ID, Id, InvalidId, new_id};
pub use meetings::{
    ActionItemStatus, Attendance, MeetingKind, MeetingStatus, MinutesStatus, PollAnswer,
    PollStatus, RegistrationStatus, Rsvp,
};
pub use membership::MembershipStatus;
pub(crate) use text_enum::text_enum;
pub use trial::{AgreementStatus, AllocationStatus, CohortStage, CohortStatus, Outcome, Payer};
