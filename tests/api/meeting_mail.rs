//! The meeting e-mails of RFC 5546 through HTTP: scheduling, inviting a guest, moving, removing
//! an invitee and cancelling each queue their message with a calendar object, parsed back with a
//! real iCalendar parser and checked field by field (METHOD, UID, SEQUENCE, times, ORGANIZER,
//! ATTENDEE PARTSTAT/RSVP, VALARM, STATUS, CRLF, 75-octet lines); a series renders its RRULE in
//! its zone with a VTIMEZONE, an occurrence changed alone its RECURRENCE-ID; and the `.eml` file
//! holds the calendar part and the `invite.ics` attachment.

use std::time::{Duration, Instant};

use connect::schema::{meetings as m, notifications as n};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::*;

#[derive(Debug)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    val: String,
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct Comp {
    name: String,
    props: Vec<Prop>,
    comps: Vec<Comp>,
}

impl Comp {
    fn prop(&self, name: &str) -> &Prop {
        self.props
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{} has no {name}: {self:?}", self.name))
    }
    fn get(&self, name: &str) -> &str {
        &self.prop(name).val
    }
    fn has(&self, name: &str) -> bool {
        self.props.iter().any(|p| p.name == name)
    }
    fn all(&self, name: &str) -> Vec<&Prop> {
        self.props.iter().filter(|p| p.name == name).collect()
    }
    fn comp(&self, name: &str) -> &Comp {
        self.comps
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} has no {name}", self.name))
    }
}

fn convert(c: &icalendar::parser::Component<'_>) -> Comp {
    Comp {
        name: c.name.as_str().to_owned(),
        props: c.properties.iter().map(prop).collect(),
        comps: c.components.iter().map(convert).collect(),
    }
}

fn prop(p: &icalendar::parser::Property<'_>) -> Prop {
    Prop {
        name: p.name.as_str().to_owned(),
        val: p.val.as_str().to_owned(),
        params: p
            .params
            .iter()
            .map(|x| {
                (
                    x.key.as_str().to_owned(),
                    x.val
                        .as_ref()
                        .map(|v| v.as_str().trim_matches('"').to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// Checks the lines (CRLF, at most 75 octets) and parses the calendar.
fn parse_ics(ics: &str) -> Comp {
    assert!(ics.ends_with("\r\n"), "{ics}");
    for line in ics.split_terminator("\r\n") {
        assert!(!line.contains(['\r', '\n']), "a bare line end: {line:?}");
        assert!(line.len() <= 75, "over 75 octets: {line}");
    }
    let unfolded = icalendar::parser::unfold(ics);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar object");
    Comp {
        name: "VCALENDAR".into(),
        props: cal.properties.iter().map(prop).collect(),
        comps: cal.components.iter().map(convert).collect(),
    }
}

/// (recipient, text, calendar) of the queued messages of `kind`, in order.
fn queued(app: &TestApp, kind: &str) -> Vec<(String, String, String)> {
    let mut conn = app.db_conn();
    n::table
        .filter(n::kind.eq(kind))
        .order(n::id.asc())
        .select((n::recipient_email, n::body_text, n::calendar))
        .load::<(String, String, Option<String>)>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(to, text, cal)| (to, text, cal.expect("a calendar part")))
        .collect()
}

fn attendees(event: &Comp) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = event
        .all("ATTENDEE")
        .into_iter()
        .map(|a| {
            (
                a.val.to_lowercase(),
                a.param("PARTSTAT").unwrap_or("").to_owned(),
                a.param("RSVP").unwrap_or("").to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

struct Setup {
    admin: String,
    wg: String,
    chair: Member,
    a: Member,
}

async fn setup(app: &TestApp) -> Setup {
    let admin = app.admin_token().await;
    let wg = id_of(
        &expect(
            app.post(
                "/api/v1/bodies",
                &admin,
                &json!({"kind": "working_group", "name": "WG Mail"}),
            )
            .await,
            201,
        )
        .await,
    );
    let chair = app.member(&admin, "Chair Hospital", "partner").await;
    let a = app.member(&admin, "Alpha Pharma", "partner").await;
    app.seat_member(&admin, &wg, &chair, "chair").await;
    app.seat_member(&admin, &wg, &a, "member").await;
    Setup {
        admin,
        wg,
        chair,
        a,
    }
}

#[tokio::test]
async fn invitations_changes_and_cancellations_carry_their_calendars() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Styremøte: data, deling; og mer", "start": "2027-03-09T14:00:00",
                    "end": "2027-03-09T15:00:00", "language": "en", "place": "Room 3"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&meeting);
    let uid = meeting["uid"].as_str().unwrap().to_owned();

    // Scheduling invites the body's members: one REQUEST each, naming everyone.
    let invitations = queued(&app, "meeting_invitation");
    let mut to: Vec<&str> = invitations.iter().map(|(t, _, _)| t.as_str()).collect();
    to.sort();
    let mut expected = vec![s.chair.person_email.clone(), s.a.person_email.clone()];
    expected.sort();
    assert_eq!(to, expected);
    for (_, text, cal) in &invitations {
        let c = parse_ics(cal);
        assert_eq!(c.get("METHOD"), "REQUEST");
        let e = c.comp("VEVENT");
        assert_eq!(e.get("UID"), uid);
        assert_eq!(e.get("SEQUENCE"), "0");
        assert_eq!(e.get("DTSTART"), "20270309T130000Z");
        assert_eq!(e.get("DTEND"), "20270309T140000Z");
        assert_eq!(e.get("STATUS"), "CONFIRMED");
        assert!(e.get("ORGANIZER").to_lowercase().starts_with("mailto:"));
        assert!(!c.has("RRULE") && !e.has("RRULE") && !e.has("RECURRENCE-ID"));
        let people = attendees(e);
        assert_eq!(people.len(), 2, "{people:?}");
        for (address, partstat, rsvp) in &people {
            assert!(address.starts_with("mailto:"));
            assert_eq!(partstat, "NEEDS-ACTION");
            assert_eq!(rsvp, "TRUE");
        }
        let alarm = e.comp("VALARM");
        assert_eq!(alarm.get("TRIGGER"), "-P1D");
        assert_eq!(alarm.get("ACTION"), "DISPLAY");
        // The values: the local time in the meeting's language and the one-click links.
        assert!(text.contains("Tuesday 9 March 2027, 14:00–15:00"), "{text}");
        for response in ["accepted", "tentative", "declined"] {
            assert!(
                text.contains("/meetings/answer?token=")
                    && text.contains(&format!("&response={response}")),
                "{text}"
            );
        }
    }
    // The two invitees' links differ (each names its invitee).
    assert_ne!(invitations[0].1, invitations[1].1);

    // A guest added later gets their own invitation, and nobody else one.
    let guest = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/invitees"),
            &s.chair.token,
            &json!({"name": "Dr. Kari Gjest", "email": "kari.gjest@example.org"}),
        )
        .await,
        201,
    )
    .await;
    let invitations = queued(&app, "meeting_invitation");
    assert_eq!(invitations.len(), 3);
    let (to, _, cal) = &invitations[2];
    assert_eq!(to, "kari.gjest@example.org");
    assert_eq!(attendees(parse_ics(cal).comp("VEVENT")).len(), 3);

    // A change of title alone raises no sequence and sends nothing.
    let path = format!("/api/v1/meetings/{id}");
    let etag = app.current_etag(&path, &s.chair.token).await;
    expect(
        app.send_json(
            reqwest::Method::PATCH,
            &path,
            &s.chair.token,
            Some(&etag),
            Some(&json!({"title": "Board: data sharing"})),
        )
        .await,
        200,
    )
    .await;
    assert!(queued(&app, "meeting_updated").is_empty());
    // Moving it sends the raised sequence to all three, with the chair's answer kept.
    expect(
        app.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/meetings/{id}/rsvp"),
            &s.a.token,
            None,
            Some(&json!({"response": "accepted"})),
        )
        .await,
        200,
    )
    .await;
    let etag = app.current_etag(&path, &s.chair.token).await;
    expect(
        app.send_json(
            reqwest::Method::PATCH,
            &path,
            &s.chair.token,
            Some(&etag),
            Some(&json!({"start": "2027-03-09T15:00:00"})),
        )
        .await,
        200,
    )
    .await;
    let updates = queued(&app, "meeting_updated");
    assert_eq!(updates.len(), 3);
    for (_, text, cal) in &updates {
        let c = parse_ics(cal);
        assert_eq!(c.get("METHOD"), "REQUEST");
        let e = c.comp("VEVENT");
        assert_eq!(e.get("UID"), uid);
        assert_eq!(e.get("SEQUENCE"), "1");
        assert_eq!(e.get("DTSTART"), "20270309T140000Z");
        assert_eq!(e.get("SUMMARY"), "Board: data sharing");
        let a = format!("mailto:{}", s.a.person_email.clone());
        assert!(
            attendees(e)
                .iter()
                .any(|(addr, p, _)| *addr == a && p == "ACCEPTED"),
            "{:?}",
            attendees(e)
        );
        assert!(text.contains("15:00–16:00"), "{text}");
    }

    // Removing the guest cancels for the guest alone, naming only them.
    let guest_path = format!("/api/v1/meetings/{id}/invitees/{}", id_of(&guest));
    let guest_etag = app.current_etag(&guest_path, &s.chair.token).await;
    let res = app
        .delete(&guest_path, &s.chair.token, Some(&guest_etag))
        .await;
    assert_eq!(res.status(), 204);
    let cancels = queued(&app, "meeting_cancelled");
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].0, "kari.gjest@example.org");
    let c = parse_ics(&cancels[0].2);
    assert_eq!(c.get("METHOD"), "CANCEL");
    let e = c.comp("VEVENT");
    assert_eq!(e.get("UID"), uid);
    assert_eq!(e.get("STATUS"), "CANCELLED");
    assert_eq!(
        attendees(e)
            .into_iter()
            .map(|(a, _, _)| a)
            .collect::<Vec<_>>(),
        ["mailto:kari.gjest@example.org"]
    );

    // Cancelling tells the two left, with the reason and the raised sequence.
    expect(
        app.post(
            &format!("/api/v1/meetings/{id}/cancel"),
            &s.chair.token,
            &json!({"reason": "Moved to the assembly"}),
        )
        .await,
        200,
    )
    .await;
    let cancels = queued(&app, "meeting_cancelled");
    assert_eq!(cancels.len(), 3);
    for (_, text, cal) in &cancels[1..] {
        let c = parse_ics(cal);
        assert_eq!(c.get("METHOD"), "CANCEL");
        let e = c.comp("VEVENT");
        assert_eq!(e.get("UID"), uid);
        assert_eq!(e.get("SEQUENCE"), "2");
        assert_eq!(e.get("STATUS"), "CANCELLED");
        assert_eq!(attendees(e).len(), 2);
        assert!(text.contains("Moved to the assembly"), "{text}");
    }
    let _ = s.admin;
}

#[tokio::test]
async fn a_series_renders_its_rule_in_its_zone_and_an_occurrence_its_recurrence_id() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let master = expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Weekly", "start": "2027-03-09T14:00:00", "end": "2027-03-09T15:00:00"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&master);
    let uid = master["uid"].as_str().unwrap().to_owned();
    // The series API is another's work: the rule and an occurrence moved alone are set in SQL.
    let occurrence_id = uuid_like(&id);
    {
        let mut conn = app.db_conn();
        diesel::update(m::table.filter(m::id.eq(&id)))
            .set(m::rrule.eq(Some("FREQ=WEEKLY;BYDAY=TU")))
            .execute(&mut conn)
            .unwrap();
        let t = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        diesel::insert_into(m::table)
            .values((
                m::id.eq(&occurrence_id),
                m::kind.eq("body_meeting"),
                m::body_id.eq(Some(&s.wg)),
                m::series_id.eq(Some(&id)),
                m::occurrence_of.eq(Some(t("2027-03-16 13:00"))),
                m::uid.eq(&uid),
                m::sequence.eq(1),
                m::title.eq("Weekly (moved)"),
                m::description.eq(""),
                m::starts_at.eq(t("2027-03-17 13:00")),
                m::ends_at.eq(t("2027-03-17 14:00")),
                m::time_zone.eq("Europe/Oslo"),
                m::language.eq("nb"),
                m::status.eq("scheduled"),
                m::created_at.eq(t("2026-12-06 10:00")),
                m::updated_at.eq(t("2026-12-06 10:00")),
                m::version.eq(1),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    // The download of the master: the rule, in the zone, with the zone's rules.
    let res = app
        .get(&format!("/api/v1/meetings/{id}.ics"), &s.chair.token)
        .await;
    assert_eq!(res.status(), 200);
    let c = parse_ics(&res.text().await.unwrap());
    assert_eq!(c.get("METHOD"), "PUBLISH");
    let tz = c.comp("VTIMEZONE");
    assert_eq!(tz.get("TZID"), "Europe/Oslo");
    assert_eq!(
        tz.comp("DAYLIGHT").get("RRULE"),
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"
    );
    assert_eq!(tz.comp("DAYLIGHT").get("TZOFFSETTO"), "+0200");
    assert_eq!(
        tz.comp("STANDARD").get("RRULE"),
        "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"
    );
    assert_eq!(tz.comp("STANDARD").get("TZOFFSETTO"), "+0100");
    let e = c.comp("VEVENT");
    assert_eq!(e.get("UID"), uid);
    assert_eq!(e.get("RRULE"), "FREQ=WEEKLY;BYDAY=TU");
    assert_eq!(e.get("DTSTART"), "20270309T140000");
    assert_eq!(e.prop("DTSTART").param("TZID"), Some("Europe/Oslo"));
    assert_eq!(e.get("DTEND"), "20270309T150000");
    assert_eq!(e.prop("DTEND").param("TZID"), Some("Europe/Oslo"));

    // A change of place sends the series' REQUEST with its rule and zone.
    let path = format!("/api/v1/meetings/{id}");
    let etag = app.current_etag(&path, &s.chair.token).await;
    expect(
        app.send_json(
            reqwest::Method::PATCH,
            &path,
            &s.chair.token,
            Some(&etag),
            Some(&json!({"place": "Room 5"})),
        )
        .await,
        200,
    )
    .await;
    let updates = queued(&app, "meeting_updated");
    assert_eq!(updates.len(), 2);
    let c = parse_ics(&updates[0].2);
    assert_eq!(c.get("METHOD"), "REQUEST");
    assert_eq!(c.comp("VTIMEZONE").get("TZID"), "Europe/Oslo");
    let e = c.comp("VEVENT");
    assert_eq!(e.get("RRULE"), "FREQ=WEEKLY;BYDAY=TU");
    assert_eq!(e.get("SEQUENCE"), "1");
    assert_eq!(e.get("LOCATION"), "Room 5");

    // The occurrence moved alone: the master's UID, its original start as RECURRENCE-ID (UTC),
    // its own times.
    let res = app
        .get(&format!("/api/v1/meetings/{occurrence_id}.ics"), &s.admin)
        .await;
    assert_eq!(res.status(), 200);
    let c = parse_ics(&res.text().await.unwrap());
    let e = c.comp("VEVENT");
    assert_eq!(e.get("UID"), uid);
    assert_eq!(e.get("RECURRENCE-ID"), "20270316T130000Z");
    assert_eq!(e.get("DTSTART"), "20270317T130000Z");
    assert!(!e.has("RRULE"));
    assert!(c.comps.iter().all(|x| x.name != "VTIMEZONE"));
}

/// Another id of the same shape (a UUID), for a row written in SQL.
fn uuid_like(id: &str) -> String {
    let last = id.chars().last().unwrap();
    let swap = if last == '0' { '1' } else { '0' };
    format!("{}{swap}", &id[..id.len() - 1])
}

#[tokio::test]
async fn the_eml_file_holds_the_calendar_part_and_the_attachment() {
    let app = spawn_app_with(&[
        ("CONNECT_PUBLIC_URL", "http://connect.test"),
        ("CONNECT_MAIL_POLL_MS", "50"),
    ])
    .await;
    let s = setup(&app).await;
    expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Møte", "start": "2027-03-09T14:00:00", "end": "2027-03-09T15:00:00", "invite_members": false}),
        )
        .await,
        201,
    )
    .await;
    let dir = app.data_dir().join("mail");
    // Nobody invited: nothing sent. Now one guest.
    let meetings: Value = expect(app.get("/api/v1/meetings", &s.chair.token).await, 200).await;
    let id = meetings["items"][0]["id"].as_str().unwrap().to_owned();
    expect(
        app.post(
            &format!("/api/v1/meetings/{id}/invitees"),
            &s.chair.token,
            &json!({"name": "Gjest", "email": "gjest@example.org"}),
        )
        .await,
        201,
    )
    .await;
    let started = Instant::now();
    let mail = loop {
        let mails = connect::notifications::mailbox::read_dir(&dir).unwrap();
        if let Some(m) = mails.into_iter().next() {
            break m;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no .eml file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(mail.is_to("gjest@example.org"));
    assert_eq!(mail.calendar_method.as_deref(), Some("REQUEST"));
    let cal = mail.calendar.clone().expect("a text/calendar part");
    assert_eq!(mail.ics_attachment.as_deref(), Some(cal.as_str()));
    let c = parse_ics(&cal);
    assert_eq!(c.get("METHOD"), "REQUEST");
    assert_eq!(c.comp("VEVENT").get("SUMMARY"), "Møte");
    let links = mail.links();
    assert_eq!(
        links
            .iter()
            .filter(|l| l.starts_with("http://connect.test/meetings/answer?token="))
            .count(),
        3,
        "{links:?}"
    );
    let _ = s.a;
}

/// The token of the first answer link in a message's text.
fn token_in(text: &str) -> String {
    let start = text
        .find("/meetings/answer?token=")
        .expect("an answer link")
        + 23;
    text[start..].split('&').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_guest_answers_with_one_click_and_bad_links_are_refused() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Answer me", "start": "2027-03-09T14:00:00", "end": "2027-03-09T15:00:00", "language": "nb"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&meeting);
    let guest = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/invitees"),
            &s.chair.token,
            &json!({"name": "Dr. Kari Gjest", "email": "kari.gjest@example.org"}),
        )
        .await,
        201,
    )
    .await;
    let invitations = queued(&app, "meeting_invitation");
    let (_, text, _) = invitations
        .iter()
        .find(|(to, _, _)| to == "kari.gjest@example.org")
        .unwrap();
    let token = token_in(text);

    // The page the link opens, in the meeting's language (or the one asked for).
    let res = app
        .get_anon(&format!("/meetings/answer?token={token}&response=accepted"))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"nb\">") && html.contains("Godta"),
        "{html}"
    );
    let html = app
        .get_anon(&format!(
            "/meetings/answer?token={token}&response=accepted&lang=en"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Tentative"));
    let html = app
        .get_anon("/meetings/answer?token=forged")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<html lang=\"en\">"),
        "an unknown link's page is in English"
    );

    // What the link is for.
    let seen = expect(
        app.get_anon(&format!("/api/v1/meeting-answers/{token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(seen["meeting_id"], id);
    assert_eq!(seen["title"], "Answer me");
    assert_eq!(seen["invitee_name"], "Dr. Kari Gjest");
    assert_eq!(seen["response"], "needs_action");
    assert_eq!(seen["when"], "tirsdag 9. mars 2027, 14:00–15:00");

    // The answer, recorded as the guest's own, and changed again.
    let answered = expect(
        app.post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": token, "response": "declined"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(answered["response"], "declined");
    let invitee = expect(
        app.get(
            &format!("/api/v1/meetings/{id}/invitees/{}", id_of(&guest)),
            &s.chair.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(invitee["response"], "declined");
    let answered = expect(
        app.post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": token, "response": "tentative"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(answered["response"], "tentative");
    let audit = expect(
        app.get(
            &format!(
                "/api/v1/audit-events?record_type=meeting_invitee&record_id={}",
                id_of(&guest)
            ),
            &s.admin,
        )
        .await,
        200,
    )
    .await;
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor_kind"] == "meeting_invitee"
                && e["actor_id"] == id_of(&guest)
                && e["changes"]["response"]["to"] == "declined"),
        "{audit}"
    );

    // Taking the answer back is not an answer; unknown fields are refused.
    assert_field_error(
        app.post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": token, "response": "needs_action"}),
        )
        .await,
        "response",
        "invalid_value",
    )
    .await;
    let res = app
        .post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": token, "response": "accepted", "extra": 1}),
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // A forged or damaged link: 404, never a 500.
    let (payload, mac) = token.split_once('.').unwrap();
    let flipped = if mac.starts_with('A') { "B" } else { "A" };
    for bad in [
        format!("{payload}.{flipped}{}", &mac[1..]),
        "garbage".to_owned(),
        format!("{payload}."),
    ] {
        assert_problem(
            app.get_anon(&format!("/api/v1/meeting-answers/{bad}"))
                .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(
            app.post_anon(
                "/api/v1/meeting-answers",
                &json!({"token": bad, "response": "accepted"}),
            )
            .await,
            404,
            "not-found",
        )
        .await;
    }

    // A member's link; after the cancellation it answers 409.
    let member_text = &invitations
        .iter()
        .find(|(to, _, _)| *to == s.a.person_email.clone())
        .unwrap()
        .1;
    let member_token = token_in(member_text);
    expect(
        app.post(
            &format!("/api/v1/meetings/{id}/cancel"),
            &s.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": member_token, "response": "accepted"}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
}

#[tokio::test]
async fn a_removed_invitees_link_no_longer_works() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Short list", "start": "2027-03-09T14:00:00", "end": "2027-03-09T15:00:00", "invite_members": false}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&meeting);
    let guest = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/invitees"),
            &s.chair.token,
            &json!({"name": "Gone Guest", "email": "gone@example.org"}),
        )
        .await,
        201,
    )
    .await;
    let token = token_in(&queued(&app, "meeting_invitation")[0].1);
    expect(
        app.get_anon(&format!("/api/v1/meeting-answers/{token}"))
            .await,
        200,
    )
    .await;
    let path = format!("/api/v1/meetings/{id}/invitees/{}", id_of(&guest));
    let etag = app.current_etag(&path, &s.chair.token).await;
    assert_eq!(
        app.delete(&path, &s.chair.token, Some(&etag))
            .await
            .status(),
        204
    );
    assert_problem(
        app.get_anon(&format!("/api/v1/meeting-answers/{token}"))
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": token, "response": "accepted"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
}

/// (recipient, text) of the queued reminders.
fn reminders(app: &TestApp) -> Vec<(String, String)> {
    let mut conn = app.db_conn();
    n::table
        .filter(n::kind.eq("meeting_reminder"))
        .order(n::id.asc())
        .select((n::recipient_email, n::body_text))
        .load(&mut conn)
        .unwrap()
}

fn utc(s: &str) -> chrono::NaiveDateTime {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

#[tokio::test]
async fn those_who_accepted_are_reminded_once_the_day_before_occurrences_too() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    let third = app.member(&s.admin, "Gamma Pharma", "partner").await;
    app.seat_member(&s.admin, &s.wg, &third, "member").await;
    let meeting = expect(
        app.post(
            "/api/v1/meetings",
            &s.chair.token,
            &json!({"body_id": s.wg, "title": "Remind me", "start": "2027-03-09T14:00:00", "end": "2027-03-09T15:00:00", "language": "en"}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&meeting);
    // The chair and `a` accept, the third does not; `a` turns reminders off.
    for token in [&s.chair.token, &s.a.token] {
        expect(
            app.send_json(
                reqwest::Method::PUT,
                &format!("/api/v1/meetings/{id}/rsvp"),
                token,
                None,
                Some(&json!({"response": "accepted"})),
            )
            .await,
            200,
        )
        .await;
    }
    let mut prefs = expect(
        app.get("/api/v1/me/notification-preferences", &s.a.token)
            .await,
        200,
    )
    .await;
    prefs["meeting_reminder"] = json!(false);
    expect(
        app.send_json(
            reqwest::Method::PUT,
            "/api/v1/me/notification-preferences",
            &s.a.token,
            None,
            Some(&prefs),
        )
        .await,
        200,
    )
    .await;
    let mailer =
        connect::notifications::Mailer::new("http://localhost", "connect@example.org").unwrap();
    let job = |at: &str| {
        let mut conn = app.db_conn();
        connect::meetings::reminders::due(&mut conn, &mailer, utc(at)).unwrap()
    };
    // More than a day ahead: nothing yet.
    assert_eq!(job("2027-03-08 12:59"), 0);
    // Within the day: the chair, once, however often the job runs.
    assert_eq!(job("2027-03-08 13:30"), 1);
    assert_eq!(job("2027-03-08 14:30"), 0);
    let sent = reminders(&app);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, s.chair.person_email.clone());
    assert!(
        sent[0].1.contains("Tuesday 9 March 2027, 14:00–15:00"),
        "{}",
        sent[0].1
    );

    // As a weekly series: the next occurrence is reminded, an occurrence changed alone is not
    // reminded as the master's.
    {
        let mut conn = app.db_conn();
        diesel::update(m::table.filter(m::id.eq(&id)))
            .set(m::rrule.eq(Some("FREQ=WEEKLY;BYDAY=TU")))
            .execute(&mut conn)
            .unwrap();
        diesel::insert_into(m::table)
            .values((
                m::id.eq(uuid_like(&id)),
                m::kind.eq("body_meeting"),
                m::body_id.eq(Some(&s.wg)),
                m::series_id.eq(Some(&id)),
                m::occurrence_of.eq(Some(utc("2027-03-23 13:00"))),
                m::uid.eq(meeting["uid"].as_str().unwrap()),
                m::sequence.eq(1),
                m::title.eq("Moved"),
                m::description.eq(""),
                m::starts_at.eq(utc("2027-03-30 12:00")),
                m::ends_at.eq(utc("2027-03-30 13:00")),
                m::time_zone.eq("Europe/Oslo"),
                m::language.eq("en"),
                m::status.eq("scheduled"),
                m::created_at.eq(utc("2026-12-06 10:00")),
                m::updated_at.eq(utc("2026-12-06 10:00")),
                m::version.eq(1),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(job("2027-03-15 14:00"), 1);
    assert_eq!(job("2027-03-15 15:00"), 0);
    let sent = reminders(&app);
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].1.contains("Tuesday 16 March 2027, 14:00–15:00"),
        "{}",
        sent[1].1
    );
    // The 23rd is overridden (moved to the 30th): no reminder from the master.
    assert_eq!(job("2027-03-22 14:00"), 0);
    // After the DST change the series keeps 14:00 local (12:00 UTC); the moved row, on the same
    // day, has no accepted invitees of its own.
    assert_eq!(job("2027-03-29 12:30"), 1);
    let sent = reminders(&app);
    assert_eq!(sent.len(), 3);
    assert!(
        sent[2].1.contains("Tuesday 30 March 2027, 14:00–15:00"),
        "{}",
        sent[2].1
    );
}

/// The path of a feed's URL.
fn feed_path(created: &Value) -> String {
    let url = created["url"].as_str().unwrap();
    let at = url.find("/api/v1/calendar/").expect("a feed URL");
    url[at..].to_owned()
}

#[tokio::test]
async fn a_personal_calendar_feed_serves_every_meeting_and_is_rotated_and_revoked() {
    let app = spawn_app().await;
    let s = setup(&app).await;
    // An account with no person has no feed.
    assert_problem(
        app.post("/api/v1/me/calendar-feed", &s.admin, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let status = expect(app.get("/api/v1/me/calendar-feed", &s.a.token).await, 200).await;
    assert_eq!(status["exists"], false);
    let created = expect(
        app.post("/api/v1/me/calendar-feed", &s.a.token, &json!({}))
            .await,
        201,
    )
    .await;
    let path = feed_path(&created);
    let status = expect(app.get("/api/v1/me/calendar-feed", &s.a.token).await, 200).await;
    assert_eq!(status["exists"], true);
    assert!(status.get("url").is_none() && !status.to_string().contains(&path[17..]));

    let mut ids = Vec::new();
    for (title, start) in [
        ("First", "2027-03-09T14:00:00"),
        ("Second", "2027-03-10T14:00:00"),
    ] {
        let end = start.replace("T14", "T15");
        ids.push(id_of(
            &expect(
                app.post(
                    "/api/v1/meetings",
                    &s.chair.token,
                    &json!({"body_id": s.wg, "title": title, "start": start, "end": end}),
                )
                .await,
                201,
            )
            .await,
        ));
    }
    expect(
        app.send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/meetings/{}/rsvp", ids[0]),
            &s.a.token,
            None,
            Some(&json!({"response": "accepted"})),
        )
        .await,
        200,
    )
    .await;
    expect(
        app.post(
            &format!("/api/v1/meetings/{}/cancel", ids[1]),
            &s.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;

    let res = app.get_anon(&path).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/calendar; charset=utf-8"
    );
    assert_eq!(
        res.headers()["cache-control"].to_str().unwrap(),
        "private, max-age=300"
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong ETag: {etag}");
    let c = parse_ics(&res.text().await.unwrap());
    assert_eq!(c.get("METHOD"), "PUBLISH");
    let events: Vec<&Comp> = c.comps.iter().filter(|x| x.name == "VEVENT").collect();
    assert_eq!(events.len(), 2);
    let mine = format!("mailto:{}", s.a.person_email.clone());
    let first = events.iter().find(|e| e.get("SUMMARY") == "First").unwrap();
    assert!(
        attendees(first)
            .iter()
            .any(|(a, p, _)| *a == mine && p == "ACCEPTED")
    );
    assert_eq!(first.get("STATUS"), "CONFIRMED");
    let second = events
        .iter()
        .find(|e| e.get("SUMMARY") == "Second")
        .unwrap();
    assert_eq!(second.get("STATUS"), "CANCELLED");

    // Calendar apps ask for text/calendar.
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .header("Accept", "text/calendar")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);

    // Unchanged: 304 for the tag; a series changes the content and the tag.
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    {
        let mut conn = app.db_conn();
        diesel::update(m::table.filter(m::id.eq(&ids[0])))
            .set(m::rrule.eq(Some("FREQ=WEEKLY;BYDAY=TU")))
            .execute(&mut conn)
            .unwrap();
    }
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let c = parse_ics(&res.text().await.unwrap());
    assert_eq!(c.comp("VTIMEZONE").get("TZID"), "Europe/Oslo");
    let first = c
        .comps
        .iter()
        .find(|e| e.name == "VEVENT" && e.get("SUMMARY") == "First")
        .unwrap();
    assert_eq!(first.get("RRULE"), "FREQ=WEEKLY;BYDAY=TU");
    let status = expect(app.get("/api/v1/me/calendar-feed", &s.a.token).await, 200).await;
    assert!(status["last_used_at"].is_string());

    // Rotating revokes the old URL; revoking the new one ends it too.
    let rotated = expect(
        app.post("/api/v1/me/calendar-feed", &s.a.token, &json!({}))
            .await,
        201,
    )
    .await;
    let new_path = feed_path(&rotated);
    assert_ne!(new_path, path);
    assert_problem(app.get_anon(&path).await, 404, "not-found").await;
    assert_eq!(app.get_anon(&new_path).await.status(), 200);
    assert_eq!(
        app.delete("/api/v1/me/calendar-feed", &s.a.token, None)
            .await
            .status(),
        204
    );
    assert_problem(app.get_anon(&new_path).await, 404, "not-found").await;
    assert_problem(
        app.delete("/api/v1/me/calendar-feed", &s.a.token, None)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        app.get_anon("/api/v1/calendar/not-a-feed.ics").await,
        404,
        "not-found",
    )
    .await;
}
