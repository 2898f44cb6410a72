//! Membership status in CONNECT: what an organisation is to the consortium.

use crate::core::text_enum;

text_enum!(
    /// Membership status in CONNECT.
    MembershipStatus {
        None = "none",
        Applicant = "applicant",
        Partner = "partner",
        Observer = "observer",
        Suspended = "suspended",
        Withdrawn = "withdrawn",
    }
);

impl MembershipStatus {
    /// Partners and observers are members: they take part in (and may read) the consortium's work.
    pub fn is_member(self) -> bool {
        matches!(self, Self::Partner | Self::Observer)
    }

    /// The statuses this one may change to. Withdrawn organisations come back only through a new
    /// application; suspension is lifted to partner or observer.
    pub fn allowed_next(self) -> &'static [MembershipStatus] {
        use MembershipStatus::*;
        match self {
            None => &[Applicant, Partner, Observer],
            Applicant => &[Partner, Observer, None],
            Partner => &[Observer, Suspended, Withdrawn],
            Observer => &[Partner, Suspended, Withdrawn],
            Suspended => &[Partner, Observer, Withdrawn],
            Withdrawn => &[Applicant],
        }
    }
}
