//! The clock: one notion of "now" for every record.

/// The current time in UTC, at microsecond precision (what both databases keep).
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Today's date in UTC: the day seats, caps, deadlines and evaluations are judged on.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Formats a stored UTC time as RFC 3339.
pub fn rfc3339(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}
