//! The vocabulary of meetings: what kind, where one stands, and an invitee's answer. Shared with
//! the access policy (an open event is seen by every member of the consortium) and the calendars.

use crate::core::text_enum;

text_enum!(
    /// What kind of meeting.
    MeetingKind {
        /// A meeting of a body (the board, the general assembly, a working group).
        BodyMeeting = "body_meeting",
        /// An event of the consortium open to all its members (and, later, the public).
        OpenEvent = "open_event",
    }
);

text_enum!(
    /// Where a meeting stands.
    MeetingStatus {
        Scheduled = "scheduled",
        /// Called off (kept, with the reason; calendars show it cancelled).
        Cancelled = "cancelled",
        /// It took place.
        Held = "held",
    }
);

text_enum!(
    /// An invitee's answer (iCalendar PARTSTAT).
    Rsvp {
        /// Not answered yet.
        NeedsAction = "needs_action",
        Accepted = "accepted",
        Tentative = "tentative",
        Declined = "declined",
    }
);

impl Rsvp {
    /// The iCalendar PARTSTAT value.
    pub fn partstat(self) -> &'static str {
        match self {
            Rsvp::NeedsAction => "NEEDS-ACTION",
            Rsvp::Accepted => "ACCEPTED",
            Rsvp::Tentative => "TENTATIVE",
            Rsvp::Declined => "DECLINED",
        }
    }
}

text_enum!(
    /// Whether an invitee took part in a meeting that was held.
    Attendance {
        Present = "present",
        Absent = "absent",
        /// Absent, with notice given.
        Excused = "excused",
    }
);

text_enum!(
    /// Where a meeting's minutes stand.
    MinutesStatus {
        /// Being written by the body's secretary (or the secretariat); may change.
        Draft = "draft",
        /// Approved by the body: read-only from then on.
        Approved = "approved",
    }
);

text_enum!(
    /// Where an action item stands.
    ActionItemStatus {
        Open = "open",
        Done = "done",
        /// No longer needed.
        Dropped = "dropped",
    }
);

text_enum!(
    /// Where a registration for an open event stands.
    RegistrationStatus {
        /// Holds one of the event's places.
        Confirmed = "confirmed",
        /// On the waiting list; moves up when a place comes free.
        Waitlisted = "waitlisted",
        Cancelled = "cancelled",
    }
);

text_enum!(
    /// Where a scheduling poll stands.
    PollStatus {
        /// Taking answers.
        Open = "open",
        /// No longer taking answers.
        Closed = "closed",
        /// Turned into a meeting.
        Scheduled = "scheduled",
    }
);

text_enum!(
    /// A participant's answer to one proposed time of a scheduling poll.
    PollAnswer {
        Yes = "yes",
        /// Possible, if no other time suits.
        IfNeedBe = "if_need_be",
        No = "no",
    }
);
