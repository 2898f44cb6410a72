//! Series: RFC 5545 recurrence rules, checked and expanded in the series' time zone (so "every
//! second Tuesday 14:00 Europe/Oslo" stays at 14:00 local time across daylight-saving changes).
//! Occurrences are computed on demand within a range, never stored.

use chrono::{NaiveDateTime, TimeZone};
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Unvalidated};

use crate::error::ApiError;

/// The most occurrences one expansion returns; a longer range is answered in part, with
/// `limited` set.
pub const MAX_OCCURRENCES: u16 = 2000;

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::invalid("rrule", "invalid_rrule", detail)
}

/// The rule set of a series whose first occurrence starts at `first_start` (UTC), in `tz`.
/// With it, the rule as written back (normalised, without the parts the expansion fills in).
fn rule_set(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> Result<(RRuleSet, String), ApiError> {
    let text = rrule.trim();
    let text = text.strip_prefix("RRULE:").unwrap_or(text);
    if text.is_empty() || text.contains(['\r', '\n']) {
        return Err(invalid(
            "give one RRULE value, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        ));
    }
    let rule: RRule<Unvalidated> = text
        .parse()
        .map_err(|e| invalid(format!("not an RFC 5545 RRULE: {e}")))?;
    if matches!(
        rule.get_freq(),
        Frequency::Hourly | Frequency::Minutely | Frequency::Secondly
    ) {
        return Err(invalid(
            "a meeting series recurs daily at the most often (FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)",
        ));
    }
    // The expansion (a port of python-dateutil's) yields nothing for a BYDAY that mixes plain
    // and numbered weekdays (dateutil and rrule.js share the bug): refused with the reason.
    let days = rule.get_by_weekday();
    if days.iter().any(|d| matches!(d, NWeekday::Every(_)))
        && days.iter().any(|d| matches!(d, NWeekday::Nth(..)))
    {
        return Err(invalid(
            "BYDAY mixes weekdays with and without a number (e.g. MO,-1FR), which is not supported: make two series",
        ));
    }
    let normalised = written(&rule);
    let tz = rrule::Tz::Tz(tz);
    let start = tz.from_utc_datetime(&first_start);
    let set = rule
        .build(start)
        .map_err(|e| invalid(format!("the rule does not fit the first occurrence: {e}")))?;
    Ok((set, normalised))
}

/// The rule as text. The crate writes the first of a weekday in the month or year (`1TH`) as
/// plain `TH`, which reads back as every Thursday: its `BYDAY` is written here, numbers kept.
fn written(rule: &RRule<Unvalidated>) -> String {
    let days = rule
        .get_by_weekday()
        .iter()
        .map(|d| match d {
            NWeekday::Nth(n, wd) => format!("{n}{}", NWeekday::Every(*wd)),
            every => every.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    rule.to_string()
        .split(';')
        .map(|part| {
            if part.starts_with("BYDAY=") {
                format!("BYDAY={days}")
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Checks a rule against its first occurrence; returns it normalised (without `RRULE:`).
pub fn check(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> Result<String, ApiError> {
    let (set, normalised) = rule_set(rrule, first_start, tz)?;
    // A rule that yields no occurrence at all (e.g. an UNTIL before the first start) is refused.
    if set.all(1).dates.is_empty() {
        return Err(invalid("the rule gives no occurrence"));
    }
    Ok(normalised)
}

/// The starts (UTC) of the occurrences starting within `[from, to)`, at most
/// [`MAX_OCCURRENCES`]; `true` when more were left out.
pub fn starts_between(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(Vec<NaiveDateTime>, bool), ApiError> {
    first_starts_between(rrule, first_start, tz, from, to, MAX_OCCURRENCES)
}

/// The first `max` (at most [`MAX_OCCURRENCES`]) of [`starts_between`]: a page needs no more
/// than its size from each series, however long the range.
pub fn first_starts_between(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
    from: NaiveDateTime,
    to: NaiveDateTime,
    max: u16,
) -> Result<(Vec<NaiveDateTime>, bool), ApiError> {
    if to <= from {
        return Ok((Vec::new(), false));
    }
    let (set, _) = rule_set(rrule, first_start, tz)?;
    let rz = rrule::Tz::Tz(tz);
    // `after`/`before` are inclusive: one second off `to` keeps the range half-open.
    let result = set
        .after(rz.from_utc_datetime(&from))
        .before(rz.from_utc_datetime(&(to - chrono::TimeDelta::seconds(1))))
        .all(max.min(MAX_OCCURRENCES));
    Ok((
        result.dates.iter().map(|d| d.naive_utc()).collect(),
        result.limited,
    ))
}

/// The start (UTC) of a bounded series' last occurrence (`None` for a rule without `UNTIL` or
/// `COUNT`, or one longer than [`MAX_OCCURRENCES`]).
pub fn last_start(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
) -> Option<NaiveDateTime> {
    if !rrule.contains("UNTIL=") && !rrule.contains("COUNT=") {
        return None;
    }
    let (set, _) = rule_set(rrule, first_start, tz).ok()?;
    let result = set.all(MAX_OCCURRENCES);
    if result.limited {
        return None;
    }
    result.dates.last().map(|d| d.naive_utc())
}

/// The rule ended so that its last occurrence starts before `before` (UTC): the rule with an
/// `UNTIL` (and no `COUNT`), for splitting a series where "this and the following" change.
pub fn ended_before(
    rrule: &str,
    first_start: NaiveDateTime,
    tz: chrono_tz::Tz,
    before: NaiveDateTime,
) -> Result<String, ApiError> {
    let (_, text) = rule_set(rrule, first_start, tz)?;
    let until = before - chrono::TimeDelta::seconds(1);
    let kept: Vec<&str> = text
        .split(';')
        .filter(|part| !part.starts_with("UNTIL=") && !part.starts_with("COUNT="))
        .collect();
    Ok(format!(
        "{};UNTIL={}",
        kept.join(";"),
        until.and_utc().format("%Y%m%dT%H%M%SZ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn every_second_tuesday_stays_at_14_oslo_across_dst() {
        // Tuesday 9 February 2021, 14:00 in Oslo = 13:00 UTC (winter).
        let first = utc(2021, 2, 9, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        let rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU";
        assert_eq!(
            check(rule, first, tz).unwrap(),
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
        );
        let (starts, limited) = starts_between(
            rule,
            first,
            tz,
            utc(2021, 3, 1, 0, 0),
            utc(2021, 4, 30, 0, 0),
        )
        .unwrap();
        assert!(!limited);
        // 9 March (winter, 13:00 UTC), 23 March (winter), 6 April and 20 April (summer, 12:00 UTC).
        assert_eq!(
            starts,
            vec![
                utc(2021, 3, 9, 13, 0),
                utc(2021, 3, 23, 13, 0),
                utc(2021, 4, 6, 12, 0),
                utc(2021, 4, 20, 12, 0)
            ]
        );
    }

    #[test]
    fn the_range_is_half_open_and_bounded() {
        let first = utc(2021, 2, 9, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        let (starts, _) = starts_between(
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            first,
            tz,
            first,
            utc(2021, 2, 23, 13, 0),
        )
        .unwrap();
        assert_eq!(starts, vec![first]);
        let (all, limited) =
            starts_between("FREQ=DAILY", first, tz, first, utc(2031, 1, 1, 0, 0)).unwrap();
        assert!(limited);
        assert_eq!(all.len(), MAX_OCCURRENCES as usize);
    }

    #[test]
    fn the_first_weekday_of_the_month_stays_the_first() {
        // Thursday 4 February 2021, 09:00 in Oslo: the first Thursday of the month.
        let first = utc(2021, 2, 4, 8, 0);
        let tz = chrono_tz::Europe::Oslo;
        let rule = check("FREQ=MONTHLY;BYDAY=1TH", first, tz).unwrap();
        assert_eq!(rule, "FREQ=MONTHLY;BYDAY=1TH");
        assert_eq!(
            check("FREQ=MONTHLY;BYDAY=+1TH,-1TH", first, tz).unwrap(),
            "FREQ=MONTHLY;BYDAY=1TH,-1TH"
        );
        // The rule as stored expands to one Thursday a month, not every Thursday.
        let (starts, _) = starts_between(&rule, first, tz, first, utc(2021, 4, 1, 0, 0)).unwrap();
        assert_eq!(starts, vec![first, utc(2021, 3, 4, 8, 0)]);
    }

    #[test]
    fn bad_rules_are_refused() {
        let first = utc(2021, 2, 9, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        for bad in [
            "",
            "FREQ=SOMETIMES",
            "FREQ=HOURLY",
            "FREQ=WEEKLY\r\nX:1",
            "FREQ=DAILY;UNTIL=20200101T000000Z",
        ] {
            assert!(check(bad, first, tz).is_err(), "{bad}");
        }
        assert!(check("RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=10", first, tz).is_ok());
    }

    #[test]
    fn a_series_ends_before_the_split() {
        let first = utc(2021, 2, 9, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        let ended =
            ended_before("FREQ=WEEKLY;COUNT=50", first, tz, utc(2021, 3, 2, 13, 0)).unwrap();
        assert_eq!(ended, "FREQ=WEEKLY;UNTIL=20210302T125959Z");
        let (starts, _) = starts_between(&ended, first, tz, first, utc(2022, 1, 1, 0, 0)).unwrap();
        assert_eq!(starts.len(), 3);
    }

    #[test]
    fn a_bounded_series_has_a_last_start_and_an_endless_one_none() {
        let first = utc(2021, 2, 9, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        assert_eq!(
            last_start("FREQ=WEEKLY;COUNT=3", first, tz),
            Some(utc(2021, 2, 23, 13, 0))
        );
        // Until a summer date: the last start is 14:00 Oslo in summer time, 12:00 UTC.
        assert_eq!(
            last_start("FREQ=MONTHLY;BYDAY=2TU;UNTIL=20210601T000000Z", first, tz),
            Some(utc(2021, 5, 11, 12, 0))
        );
        assert_eq!(last_start("FREQ=WEEKLY", first, tz), None);
    }

    #[test]
    fn plain_and_numbered_weekdays_together_are_refused_with_the_reason() {
        let first = utc(2021, 2, 1, 13, 0);
        let tz = chrono_tz::Europe::Oslo;
        let e = check("FREQ=MONTHLY;BYDAY=MO,-1FR", first, tz).unwrap_err();
        assert!(format!("{e:?}").contains("mixes weekdays"), "{e:?}");
        assert!(check("FREQ=MONTHLY;BYDAY=1MO,-1FR", first, tz).is_ok());
        assert!(check("FREQ=MONTHLY;BYDAY=MO,FR", first, tz).is_ok());
    }
}
