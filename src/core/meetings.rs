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
