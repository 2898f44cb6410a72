//! Free slots: times in working hours (a zone's local time) when the people asked about are free
//! of the meetings (and series occurrences) they accepted or answered tentatively.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::{DEFAULT_TIME_ZONE, Rsvp, to_local, to_utc, zone};
use super::series;
use crate::auth::Caller;
use crate::core::Id;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::validation::Validator;

/// The most people asked about at once.
pub const MAX_PEOPLE: usize = 50;
/// The longest range, in days.
pub const MAX_DAYS: i64 = 62;
/// The most slots answered.
pub const MAX_SLOTS: usize = 50;

/// The question. `person_id` is repeated, once per person.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FreeSlotsQuery {
    /// The people (repeat the parameter, 1 to 50).
    #[serde(default)]
    #[param(required = true, min_items = 1, max_items = 50)]
    pub person_id: Vec<Id>,
    /// The slot's length, 15 to 480 minutes.
    #[param(required = true, minimum = 15, maximum = 480, example = 60)]
    pub duration_minutes: Option<i64>,
    /// The first day (local date in `time_zone`).
    #[param(value_type = String, example = "2027-03-22")]
    pub from: Option<NaiveDate>,
    /// The last day (at most 62 days in all).
    #[param(value_type = String, example = "2027-04-02")]
    pub to: Option<NaiveDate>,
    /// An IANA zone; `Europe/Oslo` when absent.
    pub time_zone: Option<String>,
    /// The working day's start, local `HH:MM` (default `09:00`).
    pub day_start: Option<String>,
    /// The working day's end, local `HH:MM` (default `16:00`).
    pub day_end: Option<String>,
    /// Whether Saturdays and Sundays count (default false).
    pub weekends: Option<bool>,
    /// Between candidate starts, 5 to 240 minutes (default 30).
    #[param(minimum = 5, maximum = 240)]
    pub step_minutes: Option<i64>,
    /// How many of the people must be free (default all).
    pub min_free: Option<usize>,
}

/// One slot: when, and who is free or busy then.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "starts_at": "2027-03-29T07:00:00Z",
    "ends_at": "2027-03-29T08:00:00Z",
    "local_start": "2027-03-29T09:00:00",
    "local_end": "2027-03-29T10:00:00",
    "free": ["01937c4e-2222-7000-8000-0000000000cc"],
    "busy": []
}))]
#[schema(as = FreeSlot)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(value_type = String, example = "2027-03-29T09:00:00")]
    pub local_start: NaiveDateTime,
    #[schema(value_type = String, example = "2027-03-29T10:00:00")]
    pub local_end: NaiveDateTime,
    pub free: Vec<Id>,
    pub busy: Vec<Id>,
}

/// The slots found, best first (most people free, then earliest), at most 50.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "time_zone": "Europe/Oslo",
    "duration_minutes": 60,
    "items": [{
        "starts_at": "2027-03-29T07:00:00Z",
        "ends_at": "2027-03-29T08:00:00Z",
        "local_start": "2027-03-29T09:00:00",
        "local_end": "2027-03-29T10:00:00",
        "free": ["01937c4e-2222-7000-8000-0000000000cc"],
        "busy": []
    }],
    "limited": false
}))]
pub struct FreeSlots {
    pub time_zone: String,
    pub duration_minutes: i64,
    pub items: Vec<Slot>,
    /// True when more slots qualified than were answered.
    pub limited: bool,
}

fn hhmm(v: Option<&str>, default: NaiveTime, field: &str, vd: &mut Validator) -> NaiveTime {
    match v {
        None => default,
        Some(s) => match NaiveTime::parse_from_str(s.trim(), "%H:%M") {
            Ok(t) => t,
            Err(_) => {
                vd.add(field, "invalid_value", "a local time HH:MM, e.g. 09:00");
                default
            }
        },
    }
}

/// Finds the free slots; the people must be visible to the caller (422 otherwise).
pub fn find(conn: &mut DbConn, caller: &Caller, q: FreeSlotsQuery) -> Result<FreeSlots, ApiError> {
    let mut v = Validator::new();
    let mut people: Vec<String> = Vec::new();
    for id in &q.person_id {
        if !people.contains(&id.to_string()) {
            people.push(id.to_string());
        }
    }
    v.check(
        (1..=MAX_PEOPLE).contains(&people.len()),
        "person_id",
        "out_of_range",
        format!("give 1 to {MAX_PEOPLE} people (repeat person_id)"),
    );
    let duration = q.duration_minutes.unwrap_or(0);
    v.check(
        (15..=480).contains(&duration),
        "duration_minutes",
        "out_of_range",
        "must be from 15 to 480",
    );
    let step = q.step_minutes.unwrap_or(30);
    v.check(
        (5..=240).contains(&step),
        "step_minutes",
        "out_of_range",
        "must be from 5 to 240",
    );
    v.check(
        q.from.is_some(),
        "from",
        "required",
        "the first day, e.g. 2027-03-22",
    );
    v.check(
        q.to.is_some(),
        "to",
        "required",
        "the last day, e.g. 2027-04-02",
    );
    let tz_name = q.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE);
    let tz = zone(tz_name.trim(), "time_zone");
    if tz.is_err() {
        v.add(
            "time_zone",
            "unknown_time_zone",
            "not an IANA time zone, e.g. Europe/Oslo",
        );
    }
    let day_start = hhmm(
        q.day_start.as_deref(),
        NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
        "day_start",
        &mut v,
    );
    let day_end = hhmm(
        q.day_end.as_deref(),
        NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
        "day_end",
        &mut v,
    );
    v.check(
        day_end > day_start,
        "day_end",
        "before_start",
        "must be after day_start",
    );
    if let (Some(from), Some(to)) = (q.from, q.to) {
        v.check(to >= from, "to", "before_from", "must not be before from");
        v.check(
            (to - from).num_days() < MAX_DAYS,
            "to",
            "range_too_long",
            format!("at most {MAX_DAYS} days"),
        );
    }
    if let Some(n) = q.min_free {
        v.check(
            n >= 1 && n <= people.len().max(1),
            "min_free",
            "out_of_range",
            "from 1 to the number of people",
        );
    }
    v.finish()?;
    let (Some(from), Some(to), Ok(tz)) = (q.from, q.to, tz) else {
        return Err(ApiError::invalid("from", "required", "give from and to"));
    };
    for id in &people {
        match crate::people::repo::get_visible(conn, caller, id) {
            Ok(_) => {}
            Err(ApiError::NotFound) => {
                return Err(ApiError::invalid(
                    "person_id",
                    "not_found",
                    format!("no such person: {id}"),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    let min_free = q.min_free.unwrap_or(people.len());
    let duration = TimeDelta::minutes(duration);
    let step = TimeDelta::minutes(step);
    // Busy times over the whole range, with a day's margin for the zone's offset.
    let range_from = (from - TimeDelta::days(1)).and_time(NaiveTime::MIN);
    let range_to = (to + TimeDelta::days(2)).and_time(NaiveTime::MIN);
    let busy = series::busy(
        conn,
        &people,
        &[Rsvp::Accepted, Rsvp::Tentative],
        range_from,
        range_to,
        None,
    )?;
    let mut slots = Vec::new();
    let mut day = from;
    while day <= to {
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend || q.weekends.unwrap_or(false) {
            let mut local = day.and_time(day_start);
            let last = day.and_time(day_end);
            while local + duration <= last {
                // A local time the clocks skip is no slot.
                if let Ok(starts) = to_utc(local, tz, "from") {
                    let ends = starts + duration;
                    let (mut free, mut taken) = (Vec::new(), Vec::new());
                    for person in &people {
                        let is_busy = busy.iter().any(|b| {
                            b.person_id.as_str() == person
                                && b.starts_at < ends
                                && b.ends_at > starts
                        });
                        if is_busy {
                            taken.push(Id::from_stored(person)?);
                        } else {
                            free.push(Id::from_stored(person)?);
                        }
                    }
                    if free.len() >= min_free {
                        slots.push(Slot {
                            starts_at: starts.and_utc(),
                            ends_at: ends.and_utc(),
                            local_start: local,
                            local_end: to_local(ends, tz),
                            free,
                            busy: taken,
                        });
                    }
                }
                local += step;
            }
        }
        day += TimeDelta::days(1);
    }
    slots.sort_by(|a, b| {
        b.free
            .len()
            .cmp(&a.free.len())
            .then(a.starts_at.cmp(&b.starts_at))
    });
    let limited = slots.len() > MAX_SLOTS;
    slots.truncate(MAX_SLOTS);
    Ok(FreeSlots {
        time_zone: tz.name().to_owned(),
        duration_minutes: duration.num_minutes(),
        items: slots,
        limited,
    })
}
