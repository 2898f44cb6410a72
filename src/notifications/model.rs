//! Notification kinds, languages and the API types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::Id;
use crate::core::text_enum;

text_enum!(
    /// The language a person reads their e-mail in.
    #[derive(Default)]
    Language {
        /// Norwegian (bokmål)
        #[default]
        Nb = "nb",
        /// English
        En = "en",
    }
);

text_enum!(
    /// What a message is about. Security messages always go; the others follow the person's
    /// preferences.
    Kind {
        /// An invitation to an account (security: always sent).
        Invitation = "invitation",
        /// A password-reset link (security: always sent).
        PasswordReset = "password_reset",
        /// The password was changed (security: always sent).
        PasswordChanged = "password_changed",
        /// The account's role changed (security: always sent).
        RoleChanged = "role_changed",
        /// An API token was created for the account (security: always sent).
        ApiTokenCreated = "api_token_created",
        /// The person's organisation changed membership status (optional).
        MembershipChanged = "membership_changed",
        /// A drug-supply agreement of the person's company changed status (optional).
        AgreementStatusChanged = "agreement_status_changed",
        /// 80 % or 100 % of an agreement's or a drug's patient cap is used (optional).
        CapThreshold = "cap_threshold",
        /// A cohort changed stage or status (optional).
        CohortStageChanged = "cohort_stage_changed",
        /// The weekly digest of week-16 evaluations falling due (optional).
        EvaluationsDue = "evaluations_due",
        /// A vote of a body the person sits in opened (optional).
        VoteOpened = "vote_opened",
        /// The one reminder to a voter who has not voted, a day before the deadline (optional).
        VoteReminder = "vote_reminder",
        /// The result of a vote of a body the person sits in (optional).
        VoteResult = "vote_result",
        /// An invitation to a meeting, with its calendar entry (always sent: it keeps the invitee's calendar right).
        MeetingInvitation = "meeting_invitation",
        /// A meeting the person is invited to changed time or place (always sent, with the updated calendar entry).
        MeetingUpdated = "meeting_updated",
        /// A meeting the person is invited to was cancelled (always sent, with METHOD:CANCEL).
        MeetingCancelled = "meeting_cancelled",
        /// The reminder, the day before, of a meeting the person accepted (optional).
        MeetingReminder = "meeting_reminder",
        /// A registration for an open event: confirmed, waitlisted, moved up from the waiting list, or cancelled (always sent: registrants have no account).
        EventRegistration = "event_registration",
        /// An action item the person owns is due (optional).
        ActionItemDue = "action_item_due",
        /// An invitation to mark the times that suit in a scheduling poll (always sent).
        PollInvitation = "poll_invitation",
    }
);

impl Kind {
    /// The kinds a template exists for (every kind: a kind arrives with the module that sends it,
    /// as meeting reminders will).
    pub const TEMPLATED: [Kind; 20] = [
        Kind::Invitation,
        Kind::PasswordReset,
        Kind::PasswordChanged,
        Kind::RoleChanged,
        Kind::ApiTokenCreated,
        Kind::MembershipChanged,
        Kind::AgreementStatusChanged,
        Kind::CapThreshold,
        Kind::CohortStageChanged,
        Kind::EvaluationsDue,
        Kind::VoteOpened,
        Kind::VoteReminder,
        Kind::VoteResult,
        Kind::MeetingInvitation,
        Kind::MeetingUpdated,
        Kind::MeetingCancelled,
        Kind::MeetingReminder,
        Kind::EventRegistration,
        Kind::ActionItemDue,
        Kind::PollInvitation,
    ];
    /// The kinds a person may opt out of.
    pub const OPTIONAL: [Kind; 10] = [
        Kind::MembershipChanged,
        Kind::AgreementStatusChanged,
        Kind::CapThreshold,
        Kind::CohortStageChanged,
        Kind::EvaluationsDue,
        Kind::VoteOpened,
        Kind::VoteReminder,
        Kind::VoteResult,
        Kind::MeetingReminder,
        Kind::ActionItemDue,
    ];

    pub fn is_optional(self) -> bool {
        Kind::OPTIONAL.contains(&self)
    }
}

text_enum!(
    /// Delivery state of a message.
    State {
        /// Waiting to be sent (or to be retried at `next_attempt_at`).
        Pending = "pending",
        /// Claimed by a worker.
        Sending = "sending",
        Sent = "sent",
        /// Gave up: a permanent error, or too many attempts. An admin may retry it.
        Failed = "failed",
    }
);

/// An e-mail in the outbox, with its delivery state. Bodies are not shown (they can hold
/// one-time links).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-5555-7000-8000-0000000000ff",
    "kind": "membership_changed",
    "recipient_email": "kari.nordmann@roche.com",
    "recipient_user_id": "01937c4e-3333-7000-8000-0000000000dd",
    "language": "nb",
    "subject": "Roche Norge AS er nå partner i CONNECT",
    "state": "sent",
    "attempts": 1,
    "next_attempt_at": "2026-11-23T10:05:00Z",
    "last_error": null,
    "message_id": "<01937c4e-5555-7000-8000-0000000000ff@connect.oslocancercluster.no>",
    "created_at": "2026-11-23T10:05:00Z",
    "sent_at": "2026-11-23T10:05:01Z"
}))]
pub struct Notification {
    pub id: Id,
    pub kind: Kind,
    pub recipient_email: String,
    pub recipient_user_id: Option<Id>,
    pub language: Language,
    pub subject: String,
    pub state: State,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// The `Message-ID` header: the same on every attempt, so a rare resend is recognisable.
    pub message_id: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Which optional messages a person receives, and in which language all of them come.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "language": "en", "membership_changed": true, "agreement_status_changed": true,
    "cap_threshold": true, "cohort_stage_changed": false, "evaluations_due": true,
    "vote_opened": true, "vote_reminder": true, "vote_result": true,
    "meeting_reminder": true, "action_item_due": true,
}))]
pub struct NotificationPreferences {
    pub language: Language,
    /// Your organisation's membership status changed.
    pub membership_changed: bool,
    /// An agreement of your company changed status (default on when left out).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub agreement_status_changed: bool,
    /// 80 % or 100 % of a patient cap of your company's agreement is used (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub cap_threshold: bool,
    /// A cohort under your company's agreement changed stage (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub cohort_stage_changed: bool,
    /// The weekly digest of week-16 evaluations falling due (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub evaluations_due: bool,
    /// A vote of a body you sit in opened (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub vote_opened: bool,
    /// The reminder, a day before the deadline, of a vote you have not cast (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub vote_reminder: bool,
    /// The result of a vote of a body you sit in (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub vote_result: bool,
    /// The reminder, the day before, of a meeting you accepted (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub meeting_reminder: bool,
    /// The reminder of an action item of yours that is due (default on).
    #[serde(default = "on")]
    #[schema(default = true)]
    pub action_item_due: bool,
}

fn on() -> bool {
    true
}

impl NotificationPreferences {
    /// Each optional kind with whether it is wanted.
    pub fn choices(&self) -> [(Kind, bool); 10] {
        [
            (Kind::MembershipChanged, self.membership_changed),
            (Kind::AgreementStatusChanged, self.agreement_status_changed),
            (Kind::CapThreshold, self.cap_threshold),
            (Kind::CohortStageChanged, self.cohort_stage_changed),
            (Kind::EvaluationsDue, self.evaluations_due),
            (Kind::VoteOpened, self.vote_opened),
            (Kind::VoteReminder, self.vote_reminder),
            (Kind::VoteResult, self.vote_result),
            (Kind::MeetingReminder, self.meeting_reminder),
            (Kind::ActionItemDue, self.action_item_due),
        ]
    }
}
