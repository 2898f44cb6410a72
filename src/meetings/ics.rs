//! A meeting as an iCalendar object (RFC 5545): CRLF line ends, lines folded at 75 octets, times
//! in UTC, the organiser, every invitee as an ATTENDEE with their PARTSTAT, and a reminder the day
//! before. Written by hand: one event with a dozen properties needs no calendar library.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::model::{Meeting, MeetingStatus};
use super::repo::InviteeRow;

/// The longest line, in octets, before it is folded.
const LINE_MAX: usize = 75;

/// TEXT escaped: backslash, semicolon, comma and newline.
fn text(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value, quoted (a DQUOTE or a control character cannot appear in one).
fn param(v: &str) -> String {
    let clean: String = v.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!("\"{clean}\"")
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

fn offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    format!("{sign}{:02}{:02}", s / 3600, (s % 3600) / 60)
}

/// The VTIMEZONE of a zone, from its rules in `year` (chrono-tz): for a zone with yearly daylight
/// saving time, a STANDARD and a DAYLIGHT part, each repeating on its weekday of its month (e.g.
/// `FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU`, the last Sunday of March); for a zone without, one
/// STANDARD part.
pub fn vtimezone(tz: Tz, year: i32) -> Vec<String> {
    let mut lines = vec!["BEGIN:VTIMEZONE".to_owned(), format!("TZID:{}", tz.name())];
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
    else {
        return lines;
    };
    let at = |t: NaiveDateTime| tz.offset_from_utc_datetime(&t);
    let mut before = at(first);
    let mut parts = Vec::new();
    // The transitions of the year, to the hour (every zone changes on a whole hour or half).
    for h in 1..(366 * 48) {
        let t = first + TimeDelta::minutes(30 * h);
        if t.year() != year {
            break;
        }
        let now = at(t);
        let (from, to) = (before.fix().local_minus_utc(), now.fix().local_minus_utc());
        if from != to {
            // The wall-clock time of the change, on the old offset.
            let wall = t + TimeDelta::seconds(i64::from(from));
            let days_in_month = NaiveDate::from_ymd_opt(
                wall.year() + i32::from(wall.month() == 12),
                wall.month() % 12 + 1,
                1,
            )
            .and_then(|d| d.pred_opt())
            .map_or(31, |d| d.day());
            let nth = if wall.day() + 7 > days_in_month {
                -1
            } else {
                ((wall.day() - 1) / 7 + 1) as i32
            };
            let weekday = &wall.weekday().to_string().to_uppercase()[..2];
            let kind = if now.dst_offset().is_zero() {
                "STANDARD"
            } else {
                "DAYLIGHT"
            };
            parts.extend([
                format!("BEGIN:{kind}"),
                format!("DTSTART:{}", local(wall)),
                format!(
                    "RRULE:FREQ=YEARLY;BYMONTH={};BYDAY={nth}{weekday}",
                    wall.month()
                ),
                format!("TZOFFSETFROM:{}", offset(from)),
                format!("TZOFFSETTO:{}", offset(to)),
                format!("TZNAME:{}", now.abbreviation().unwrap_or(tz.name())),
                format!("END:{kind}"),
            ]);
        }
        before = now;
    }
    if parts.is_empty() {
        let o = before.fix().local_minus_utc();
        parts.extend([
            "BEGIN:STANDARD".to_owned(),
            "DTSTART:19700101T000000".to_owned(),
            format!("TZOFFSETFROM:{}", offset(o)),
            format!("TZOFFSETTO:{}", offset(o)),
            format!("TZNAME:{}", before.abbreviation().unwrap_or(tz.name())),
            "END:STANDARD".to_owned(),
        ]);
    }
    lines.extend(parts);
    lines.push("END:VTIMEZONE".to_owned());
    lines
}

/// One content line, folded: no line longer than 75 octets, continuation lines begin with a
/// space, never splitting a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / LINE_MAX * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > LINE_MAX {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
    out
}

/// The organiser: a display name and an address.
pub struct Organizer<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// The calendar: `method` is `PUBLISH` for the download (`REQUEST`/`CANCEL` for invitations).
pub fn render(
    meeting: &Meeting,
    invitees: &[InviteeRow],
    organizer: &Organizer<'_>,
    method: &str,
    stamp: DateTime<Utc>,
) -> String {
    render_many(&[(meeting, invitees)], organizer, method, stamp)
}

/// Several meetings in one calendar (a feed): each series' zone once, then the events.
pub fn render_many(
    events: &[(&Meeting, &[InviteeRow])],
    organizer: &Organizer<'_>,
    method: &str,
    stamp: DateTime<Utc>,
) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "PRODID:-//CONNECT//connect meetings//EN".into(),
        "VERSION:2.0".into(),
        "CALSCALE:GREGORIAN".into(),
        format!("METHOD:{method}"),
    ];
    let mut zones: Vec<(Tz, i32)> = Vec::new();
    for (meeting, _) in events {
        if meeting.rrule.is_some()
            && let Ok(tz) = meeting.time_zone.parse::<Tz>()
            && !zones.iter().any(|(z, _)| *z == tz)
        {
            zones.push((tz, meeting.starts_at.year()));
        }
    }
    for (tz, year) in zones {
        lines.extend(vtimezone(tz, year));
    }
    for (meeting, invitees) in events {
        lines.extend(vevent(meeting, invitees, organizer, stamp));
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold(l)).collect()
}

/// One VEVENT, unfolded.
fn vevent(
    meeting: &Meeting,
    invitees: &[InviteeRow],
    organizer: &Organizer<'_>,
    stamp: DateTime<Utc>,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    // A series' master is written in its zone (so its occurrences keep their wall-clock time
    // across DST), with the zone's rules; every other meeting in UTC.
    let series_zone = meeting
        .rrule
        .as_ref()
        .and_then(|_| meeting.time_zone.parse::<Tz>().ok());
    lines.extend([
        "BEGIN:VEVENT".into(),
        format!("UID:{}", text(&meeting.uid)),
        format!("SEQUENCE:{}", meeting.sequence),
        format!("DTSTAMP:{}", utc(stamp)),
    ]);
    match (series_zone, &meeting.rrule) {
        (Some(tz), Some(rrule)) => lines.extend([
            format!("DTSTART;TZID={}:{}", tz.name(), local(meeting.local_start)),
            format!("DTEND;TZID={}:{}", tz.name(), local(meeting.local_end)),
            format!("RRULE:{rrule}"),
        ]),
        _ => lines.extend([
            format!("DTSTART:{}", utc(meeting.starts_at)),
            format!("DTEND:{}", utc(meeting.ends_at)),
        ]),
    }
    if let (Some(_), Some(of)) = (&meeting.series_id, meeting.occurrence_of) {
        lines.push(format!("RECURRENCE-ID:{}", utc(of)));
    }
    lines.push(format!("SUMMARY:{}", text(&meeting.title)));
    if !meeting.description.is_empty() {
        lines.push(format!("DESCRIPTION:{}", text(&meeting.description)));
    }
    if let Some(place) = meeting.place.as_deref().or(meeting.video_url.as_deref()) {
        lines.push(format!("LOCATION:{}", text(place)));
    }
    if let Some(url) = &meeting.video_url {
        lines.push(format!("URL:{url}"));
    }
    lines.push(format!(
        "STATUS:{}",
        if meeting.status == MeetingStatus::Cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        }
    ));
    lines.push(format!(
        "ORGANIZER;CN={}:mailto:{}",
        param(organizer.name),
        organizer.email
    ));
    for i in invitees {
        let Some(address) = i.address() else {
            continue;
        };
        let name = i
            .person_name
            .as_deref()
            .or(i.guest_name.as_deref())
            .unwrap_or(address);
        lines.push(format!(
            "ATTENDEE;CN={};CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={};RSVP=TRUE:mailto:{}",
            param(name),
            i.response.partstat(),
            address
        ));
    }
    lines.extend([
        "BEGIN:VALARM".into(),
        "ACTION:DISPLAY".into(),
        format!("DESCRIPTION:{}", text(&meeting.title)),
        "TRIGGER:-P1D".into(),
        "END:VALARM".into(),
        "END:VEVENT".into(),
    ]);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let line = format!("DESCRIPTION:{}", "ø".repeat(100));
        let folded = fold(&line);
        assert!(folded.ends_with("\r\n"));
        for part in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(part.len() <= 75, "{part}");
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn zones_get_their_yearly_rules() {
        let oslo = vtimezone(chrono_tz::Europe::Oslo, 2027).join("\n");
        assert!(oslo.contains("BEGIN:DAYLIGHT\nDTSTART:20270328T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST"), "{oslo}");
        assert!(oslo.contains("BEGIN:STANDARD\nDTSTART:20271031T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET"), "{oslo}");
        let ny = vtimezone(chrono_tz::America::New_York, 2027).join("\n");
        assert!(
            ny.contains(
                "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\nTZOFFSETFROM:-0500\nTZOFFSETTO:-0400"
            ),
            "{ny}"
        );
        assert!(
            ny.contains(
                "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\nTZOFFSETFROM:-0400\nTZOFFSETTO:-0500"
            ),
            "{ny}"
        );
        let tokyo = vtimezone(chrono_tz::Asia::Tokyo, 2027).join("\n");
        assert!(
            tokyo.contains(
                "BEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0900\nTZOFFSETTO:+0900"
            ),
            "{tokyo}"
        );
        assert!(!tokyo.contains("DAYLIGHT"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }
}
