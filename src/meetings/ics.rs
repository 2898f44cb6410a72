//! A meeting as an iCalendar object (RFC 5545): CRLF line ends, lines folded at 75 octets, times
//! in UTC, the organiser, every invitee as an ATTENDEE with their PARTSTAT, and a reminder the day
//! before. Written by hand: one event with a dozen properties needs no calendar library.

use chrono::{DateTime, Utc};

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
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "PRODID:-//CONNECT//connect meetings//EN".into(),
        "VERSION:2.0".into(),
        "CALSCALE:GREGORIAN".into(),
        format!("METHOD:{method}"),
        "BEGIN:VEVENT".into(),
        format!("UID:{}", text(&meeting.uid)),
        format!("SEQUENCE:{}", meeting.sequence),
        format!("DTSTAMP:{}", utc(stamp)),
        format!("DTSTART:{}", utc(meeting.starts_at)),
        format!("DTEND:{}", utc(meeting.ends_at)),
        format!("SUMMARY:{}", text(&meeting.title)),
    ];
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
        "END:VCALENDAR".into(),
    ]);
    lines.iter().map(|l| fold(l)).collect()
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
    fn text_is_escaped() {
        assert_eq!(text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }
}
