//! Meetings through HTTP: local times in Europe/Oslo across the March and October daylight-saving
//! changes, a chair refused on another working group's meetings, who sees what (invitees,
//! members, open events), answers, guests, conflicts, cancellation raising the sequence, the
//! calendar file line by line, and scopes.

use serde_json::{Value, json};

use crate::helpers::*;

async fn schedule(app: &TestApp, token: &str, body: Value) -> Value {
    expect(app.post("/api/v1/meetings", token, &body).await, 201).await
}

fn at(body: &str, start: &str, end: &str) -> Value {
    json!({"body_id": body, "title": "Monthly meeting", "start": start, "end": end})
}

async fn rsvp(app: &TestApp, token: &str, id: &str, response: &str) -> reqwest::Response {
    app.send_json(
        reqwest::Method::PUT,
        &format!("/api/v1/meetings/{id}/rsvp"),
        token,
        None,
        Some(&json!({"response": response})),
    )
    .await
}

#[tokio::test]
async fn local_times_in_oslo_hold_across_the_daylight_saving_changes() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    // Before the March change Oslo is UTC+1, after it UTC+2.
    let before = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-03-26T14:00:00", "2027-03-26T15:00:00"),
    )
    .await;
    assert_eq!(before["starts_at"], "2027-03-26T13:00:00Z");
    assert_eq!(before["ends_at"], "2027-03-26T14:00:00Z");
    assert_eq!(before["local_start"], "2027-03-26T14:00:00");
    assert_eq!(before["time_zone"], "Europe/Oslo");
    let after = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-03-29T14:00:00", "2027-03-29T15:00:00"),
    )
    .await;
    assert_eq!(after["starts_at"], "2027-03-29T12:00:00Z");
    assert_eq!(after["local_end"], "2027-03-29T15:00:00");
    // A meeting over the change: 01:00 to 04:00 local lasts two hours.
    let over = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-03-28T01:00:00", "2027-03-28T04:00:00"),
    )
    .await;
    assert_eq!(over["starts_at"], "2027-03-28T00:00:00Z");
    assert_eq!(over["ends_at"], "2027-03-28T02:00:00Z");
    // 02:30 on the day clocks go forward does not exist.
    assert_field_error(
        app.post(
            "/api/v1/meetings",
            &g.chair.token,
            &at(&g.wg1, "2027-03-28T02:30:00", "2027-03-28T03:30:00"),
        )
        .await,
        "start",
        "nonexistent_local_time",
    )
    .await;
    // 02:30 on the day clocks go back happens twice: the first (summer time, UTC+2) is taken.
    let autumn = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-10-31T02:30:00", "2027-10-31T04:00:00"),
    )
    .await;
    assert_eq!(autumn["starts_at"], "2027-10-31T00:30:00Z");
    assert_eq!(autumn["ends_at"], "2027-10-31T03:00:00Z");
    let winter = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-11-01T14:00:00", "2027-11-01T15:00:00"),
    )
    .await;
    assert_eq!(winter["starts_at"], "2027-11-01T13:00:00Z");
    // Another zone, and an unknown one.
    let mut req = at(&g.wg1, "2027-03-29T14:00:00", "2027-03-29T15:00:00");
    req["time_zone"] = json!("America/New_York");
    let ny = schedule(&app, &g.chair.token, req.clone()).await;
    assert_eq!(ny["starts_at"], "2027-03-29T18:00:00Z");
    req["time_zone"] = json!("Europe/Atlantis");
    assert_field_error(
        app.post("/api/v1/meetings", &g.chair.token, &req).await,
        "time_zone",
        "unknown_time_zone",
    )
    .await;
    // An end before the start.
    assert_field_error(
        app.post(
            "/api/v1/meetings",
            &g.chair.token,
            &at(&g.wg1, "2027-03-29T14:00:00", "2027-03-29T13:00:00"),
        )
        .await,
        "end",
        "before_start",
    )
    .await;
    // Moving the meeting across the change keeps its local time and duration, raising the sequence.
    let id = id_of(&before);
    let path = format!("/api/v1/meetings/{id}");
    let moved = expect(
        app.patch(
            &path,
            &g.chair.token,
            Some(&etag_of(&app, &path, &g.chair.token).await),
            &json!({"start": "2027-04-02T14:00:00"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["starts_at"], "2027-04-02T12:00:00Z");
    assert_eq!(moved["ends_at"], "2027-04-02T13:00:00Z");
    assert_eq!(moved["sequence"], 1);
    // A title alone leaves the sequence.
    let retitled = expect(
        app.patch(
            &path,
            &g.chair.token,
            Some(&etag_of(&app, &path, &g.chair.token).await),
            &json!({"title": "Renamed"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(retitled["sequence"], 1);
    assert_eq!(retitled["version"], 3);
    // The range filter is in UTC.
    let items = app
        .list_items(
            "/api/v1/meetings?from=2027-03-29T00:00:00Z&to=2027-03-30T00:00:00Z",
            &g.chair.token,
        )
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
}

async fn etag_of(app: &TestApp, path: &str, token: &str) -> String {
    app.current_etag(path, token).await
}

#[tokio::test]
async fn a_chair_manages_their_own_groups_meetings_only_and_outsiders_see_nothing() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    // The chair of WG1 may not schedule for WG2.
    assert_problem(
        app.post(
            "/api/v1/meetings",
            &g.chair.token,
            &at(&g.wg2, "2027-05-03T10:00:00", "2027-05-03T11:00:00"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // A member may not schedule for their own group either; nor open events.
    assert_problem(
        app.post(
            "/api/v1/meetings",
            &g.a.token,
            &at(&g.wg1, "2027-05-03T10:00:00", "2027-05-03T11:00:00"),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let event = json!({"kind": "open_event", "title": "Arendalsuka", "start": "2027-08-12T10:00:00", "end": "2027-08-12T11:30:00", "language": "nb"});
    assert_problem(
        app.post("/api/v1/meetings", &g.chair.token, &event).await,
        403,
        "forbidden",
    )
    .await;
    // WG2's meeting, by the admin: the chair of WG1 gets 404 on it, and 403 once invited.
    let wg2 = schedule(
        &app,
        &g.admin,
        at(&g.wg2, "2027-05-03T10:00:00", "2027-05-03T11:00:00"),
    )
    .await;
    let id = id_of(&wg2);
    assert_eq!(wg2["invitee_count"], 1);
    let path = format!("/api/v1/meetings/{id}");
    assert_problem(app.get(&path, &g.chair.token).await, 404, "not-found").await;
    assert_problem(app.get(&path, &g.outsider.token).await, 404, "not-found").await;
    expect(app.get(&path, &g.b.token).await, 200).await;
    assert_problem(
        app.get(&format!("{path}.ics"), &g.outsider.token).await,
        404,
        "not-found",
    )
    .await;
    expect(
        app.post(
            &format!("{path}/invitees"),
            &g.admin,
            &json!({"person_id": g.chair.person_id}),
        )
        .await,
        201,
    )
    .await;
    let seen = expect(app.get(&path, &g.chair.token).await, 200).await;
    assert_eq!(seen["my_response"], "needs_action");
    assert_problem(
        app.patch(
            &path,
            &g.chair.token,
            Some(&etag_of(&app, &path, &g.admin).await),
            &json!({"title": "Mine now"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.post(&format!("{path}/cancel"), &g.chair.token, &json!({}))
            .await,
        403,
        "forbidden",
    )
    .await;
    // Lists hold only what each may see: the open event for every member of the consortium.
    let ev = schedule(&app, &g.admin, event).await;
    assert_eq!(ev["invitee_count"], 0);
    let outsider_sees: Vec<String> = app
        .list_items("/api/v1/meetings", &g.outsider.token)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(outsider_sees, vec![id_of(&ev)]);
    let chair_sees = app.list_items("/api/v1/meetings", &g.chair.token).await;
    assert_eq!(chair_sees.len(), 2);
    let b_sees = app
        .list_items(&format!("/api/v1/meetings?body_id={}", g.wg2), &g.b.token)
        .await;
    assert_eq!(b_sees.len(), 1);
    let open_only = app
        .list_items("/api/v1/meetings?kind=open_event", &g.admin)
        .await;
    assert_eq!(open_only.len(), 1);
    expect(
        app.get(
            &format!("/api/v1/meetings/{}", id_of(&ev)),
            &g.outsider.token,
        )
        .await,
        200,
    )
    .await;
    // An applicant's representative sees no open event.
    let applicant = app.member(&g.admin, "Hopeful AS", "applicant").await;
    assert_problem(
        app.get(
            &format!("/api/v1/meetings/{}", id_of(&ev)),
            &applicant.token,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert!(
        app.list_items("/api/v1/meetings", &applicant.token)
            .await
            .is_empty()
    );
    // Pages by start, the cursor carrying on.
    for day in ["2027-06-01", "2027-06-02", "2027-06-03"] {
        schedule(
            &app,
            &g.chair.token,
            at(
                &g.wg1,
                &format!("{day}T10:00:00"),
                &format!("{day}T11:00:00"),
            ),
        )
        .await;
    }
    let first = expect(
        app.get(
            &format!("/api/v1/meetings?limit=2&body_id={}", g.wg1),
            &g.chair.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect(
        app.get(
            &format!("/api/v1/meetings?limit=2&body_id={}&cursor={cursor}", g.wg1),
            &g.chair.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["local_start"], "2027-06-03T10:00:00");
}

#[tokio::test]
async fn invitees_answer_guests_are_invited_and_conflicts_are_reported() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let m1 = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-05-10T10:00:00", "2027-05-10T12:00:00"),
    )
    .await;
    let id1 = id_of(&m1);
    assert_eq!(m1["invitee_count"], 2);
    assert_eq!(m1["my_response"], "needs_action");
    assert_eq!(m1["conflicts"], json!([]));
    // Member a accepts; needs_action is no answer; an outsider is refused as if nothing existed.
    let answered = expect(rsvp(&app, &g.a.token, &id1, "accepted").await, 200).await;
    assert_eq!(answered["response"], "accepted");
    assert_eq!(answered["version"], 2);
    assert_eq!(answered["person_id"], g.a.person_id.as_str());
    let back = expect(rsvp(&app, &g.a.token, &id1, "needs_action").await, 200).await;
    assert_eq!(back["response"], "needs_action");
    expect(rsvp(&app, &g.a.token, &id1, "accepted").await, 200).await;
    assert_problem(
        rsvp(&app, &g.outsider.token, &id1, "accepted").await,
        404,
        "not-found",
    )
    .await;
    // The admin sees the meeting but is not invited.
    assert_problem(
        rsvp(&app, &g.admin, &id1, "accepted").await,
        403,
        "forbidden",
    )
    .await;
    // A second meeting overlapping the first reports a as a conflict; the chair (not answered) is none.
    let m2 = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-05-10T11:00:00", "2027-05-10T13:00:00"),
    )
    .await;
    let conflicts = m2["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["person_id"], g.a.person_id.as_str());
    assert_eq!(conflicts[0]["meeting_id"], id1.as_str());
    // One just after the first does not overlap.
    let m3 = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-05-10T12:00:00", "2027-05-10T13:00:00"),
    )
    .await;
    assert_eq!(m3["conflicts"], json!([]));
    // Inviting someone who accepted an overlapping meeting reports it too.
    let wg2 = schedule(
        &app,
        &g.admin,
        at(&g.wg2, "2027-05-10T09:00:00", "2027-05-10T10:30:00"),
    )
    .await;
    expect(rsvp(&app, &g.b.token, &id_of(&wg2), "accepted").await, 200).await;
    let added = expect(
        app.post(
            &format!("/api/v1/meetings/{id1}/invitees"),
            &g.chair.token,
            &json!({"person_id": g.b.person_id}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(added["conflicts"][0]["meeting_id"], id_of(&wg2).as_str());
    assert_problem(
        app.post(
            &format!("/api/v1/meetings/{id1}/invitees"),
            &g.chair.token,
            &json!({"person_id": g.b.person_id}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // Now invited, b sees the WG1 meeting.
    expect(
        app.get(&format!("/api/v1/meetings/{id1}"), &g.b.token)
            .await,
        200,
    )
    .await;
    // A guest with no account: name and e-mail; their address is shown to the chair only.
    let guest = expect(
        app.post(
            &format!("/api/v1/meetings/{id1}/invitees"),
            &g.chair.token,
            &json!({"name": "Dr. Kari Nordmann", "email": "Kari.Nordmann@Example.org"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(guest["guest"], true);
    assert_eq!(guest["response"], "needs_action");
    assert_problem(
        app.post(
            &format!("/api/v1/meetings/{id1}/invitees"),
            &g.chair.token,
            &json!({"name": "Kari", "email": "kari.nordmann@example.org"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_field_error(
        app.post(
            &format!("/api/v1/meetings/{id1}/invitees"),
            &g.chair.token,
            &json!({"person_id": g.a.person_id, "name": "x", "email": "x@example.org"}),
        )
        .await,
        "person_id",
        "person_or_guest",
    )
    .await;
    let as_chair = app
        .get_ok(&format!("/api/v1/meetings/{id1}/invitees"), &g.chair.token)
        .await;
    let as_member = app
        .get_ok(&format!("/api/v1/meetings/{id1}/invitees"), &g.a.token)
        .await;
    let guest_of = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["guest"] == true)
            .unwrap()
            .clone()
    };
    assert!(guest_of(&as_chair)["email"].as_str().unwrap().contains('@'));
    assert_eq!(guest_of(&as_member)["email"], Value::Null);
    assert_eq!(as_chair["items"].as_array().unwrap().len(), 4);
    let a_row = as_member["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["person_id"] == g.a.person_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(a_row["response"], "accepted");
    // The guest is removed (with the invitee's ETag); b, uninvited and with no seat in WG1, no
    // longer sees the meeting.
    let guest_path = format!("/api/v1/meetings/{id1}/invitees/{}", id_of(&guest));
    assert_eq!(
        app.get_ok(&guest_path, &g.a.token).await["name"],
        "Dr. Kari Nordmann"
    );
    expect(
        app.delete(&guest_path, &g.chair.token, Some("\"1\"")).await,
        204,
    )
    .await;
    assert_problem(
        app.delete(&guest_path, &g.chair.token, Some("\"1\"")).await,
        404,
        "not-found",
    )
    .await;
    let b_path = format!("/api/v1/meetings/{id1}/invitees/{}", id_of(&added));
    assert_problem(
        app.delete(&b_path, &g.a.token, Some("\"1\"")).await,
        403,
        "forbidden",
    )
    .await;
    expect(
        app.delete(&b_path, &g.chair.token, Some("\"1\"")).await,
        204,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/meetings/{id1}"), &g.b.token)
            .await,
        404,
        "not-found",
    )
    .await;
    // Audit trail.
    let events = app
        .audit_events(&g.admin, "record_type=meeting_invitee")
        .await;
    assert!(events.len() >= 5, "{events:?}");
}

#[tokio::test]
async fn cancelling_raises_the_sequence_and_the_calendar_file_says_so() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let long = "Agenda: status of the registry export, the data model for secondary use, and any other business; all welcome, with a long description that must fold.";
    let mut req = at(&g.wg1, "2027-03-29T14:00:00", "2027-03-29T15:00:00");
    req["description"] = json!(long);
    req["place"] = json!("Oslo Cancer Cluster, room 3");
    req["video_url"] = json!("https://meet.example.org/wg1");
    let m = schedule(&app, &g.chair.token, req).await;
    let id = id_of(&m);
    assert_eq!(m["sequence"], 0);
    let uid = m["uid"].as_str().unwrap().to_owned();
    expect(rsvp(&app, &g.a.token, &id, "tentative").await, 200).await;
    expect(
        app.post(
            &format!("/api/v1/meetings/{id}/invitees"),
            &g.chair.token,
            &json!({"name": "Guest Speaker", "email": "speaker@example.org"}),
        )
        .await,
        201,
    )
    .await;

    let res = app
        .get(&format!("/api/v1/meetings/{id}.ics"), &g.a.token)
        .await;
    assert_eq!(res.status().as_u16(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let body = res.text().await.unwrap();
    assert!(body.ends_with("\r\n"));
    assert!(!body.replace("\r\n", "").contains('\n'), "bare LF");
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "unfolded: {line}");
    }
    let unfolded = body.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "BEGIN:VCALENDAR");
    assert!(lines.contains(&"VERSION:2.0"));
    assert!(lines.contains(&"METHOD:PUBLISH"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    assert_eq!(lines.iter().filter(|l| **l == "BEGIN:VEVENT").count(), 1);
    assert!(lines.contains(&format!("UID:{uid}").as_str()));
    assert!(lines.contains(&"SEQUENCE:0"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("DTSTAMP:") && l.ends_with('Z'))
    );
    assert!(lines.contains(&"DTSTART:20270329T120000Z"));
    assert!(lines.contains(&"DTEND:20270329T130000Z"));
    assert!(lines.contains(&"SUMMARY:Monthly meeting"));
    let escaped = long.replace(',', "\\,").replace(';', "\\;");
    assert!(
        lines.contains(&format!("DESCRIPTION:{escaped}").as_str()),
        "{unfolded}"
    );
    assert!(body.contains("\r\n "), "the long description is folded");
    assert!(lines.contains(&"LOCATION:Oslo Cancer Cluster\\, room 3"));
    assert!(lines.contains(&"URL:https://meet.example.org/wg1"));
    assert!(lines.contains(&"STATUS:CONFIRMED"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ORGANIZER;CN=") && l.contains(":mailto:"))
    );
    let attendees: Vec<&&str> = lines.iter().filter(|l| l.starts_with("ATTENDEE")).collect();
    // The chair and a; the guest is shown to those who manage the meeting only.
    assert_eq!(attendees.len(), 2, "{attendees:?}");
    assert!(attendees.iter().all(|l| l.contains("RSVP=TRUE")));
    assert!(
        attendees
            .iter()
            .any(|l| l.contains("PARTSTAT=TENTATIVE")
                && l.contains("mailto:person@alpha-pharma.test"))
    );
    assert!(
        attendees
            .iter()
            .any(|l| l.contains("PARTSTAT=NEEDS-ACTION"))
    );
    let chair_ics = app
        .get(&format!("/api/v1/meetings/{id}.ics"), &g.chair.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        chair_ics
            .replace("\r\n ", "")
            .contains("mailto:speaker@example.org")
    );
    let alarm = lines.iter().position(|l| *l == "BEGIN:VALARM").unwrap();
    assert!(lines[alarm..].contains(&"TRIGGER:-P1D"));
    assert!(lines[alarm..].contains(&"ACTION:DISPLAY"));
    assert_eq!(lines.last().unwrap(), &"END:VCALENDAR");

    // Cancelling: kept, with the reason, a higher sequence and a new version; not twice.
    let cancelled = expect(
        app.post(
            &format!("/api/v1/meetings/{id}/cancel"),
            &g.chair.token,
            &json!({"reason": "The chair is ill."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "The chair is ill.");
    assert_eq!(cancelled["sequence"], 1);
    assert_eq!(cancelled["uid"], uid.as_str());
    assert_problem(
        app.post(
            &format!("/api/v1/meetings/{id}/cancel"),
            &g.chair.token,
            &json!({}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    assert_problem(
        rsvp(&app, &g.a.token, &id, "accepted").await,
        409,
        "invalid-transition",
    )
    .await;
    let path = format!("/api/v1/meetings/{id}");
    assert_problem(
        app.patch(
            &path,
            &g.chair.token,
            Some(&etag_of(&app, &path, &g.chair.token).await),
            &json!({"title": "x"}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    let ics = app
        .get(&format!("{path}.ics"), &g.a.token)
        .await
        .text()
        .await
        .unwrap();
    assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"));
    assert!(ics.contains("\r\nSEQUENCE:1\r\n"));
    let cancelled_list = app
        .list_items("/api/v1/meetings?status=cancelled", &g.a.token)
        .await;
    assert_eq!(cancelled_list.len(), 1);
    let events = app.audit_events(&g.admin, &format!("record_id={id}")).await;
    assert!(
        events.iter().any(|e| e["action"] == "meeting.cancelled"),
        "{events:?}"
    );
}

#[tokio::test]
async fn api_tokens_need_the_meetings_scopes() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let m = schedule(
        &app,
        &g.chair.token,
        at(&g.wg1, "2027-05-10T10:00:00", "2027-05-10T12:00:00"),
    )
    .await;
    let id = id_of(&m);
    let (_, read) = app.create_api_token(&g.a.token, &["meetings:read"]).await;
    let (_, write) = app.create_api_token(&g.a.token, &["meetings:write"]).await;
    let (_, other) = app.create_api_token(&g.a.token, &["bodies:read"]).await;
    expect(app.get(&format!("/api/v1/meetings/{id}"), &read).await, 200).await;
    expect(
        app.get(&format!("/api/v1/meetings/{id}.ics"), &read).await,
        200,
    )
    .await;
    assert_problem(
        app.get("/api/v1/meetings", &other).await,
        403,
        "insufficient-scope",
    )
    .await;
    assert_problem(
        rsvp(&app, &read, &id, "accepted").await,
        403,
        "insufficient-scope",
    )
    .await;
    expect(rsvp(&app, &write, &id, "declined").await, 200).await;
    assert_problem(
        app.get(&format!("/api/v1/meetings/{id}/invitees"), &write)
            .await,
        403,
        "insufficient-scope",
    )
    .await;
}
