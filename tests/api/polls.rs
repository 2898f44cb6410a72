//! Scheduling polls through HTTP: the invitations e-mailed to people and guests, a guest
//! answering through the e-mailed link and a person signed in, the tally and the best slots,
//! closing, turning the poll into a meeting that invites the participants (with calendars), one
//! meeting from two concurrent schedules, a chair refused on another working group's polls,
//! who sees what, bad links, validation, and slots across the March daylight-saving change.

use connect::schema::notifications as n;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::*;

fn three_slots() -> Value {
    json!([
        {"start": "2030-03-04T10:00:00", "end": "2030-03-04T11:00:00"},
        {"start": "2030-03-05T10:00:00", "end": "2030-03-05T11:00:00"},
        {"start": "2030-03-06T10:00:00", "end": "2030-03-06T11:00:00"}
    ])
}

/// (recipient, text) of the queued messages of `kind`, in order.
fn queued(app: &TestApp, kind: &str) -> Vec<(String, String, Option<String>)> {
    let mut conn = app.db_conn();
    n::table
        .filter(n::kind.eq(kind))
        .order(n::id.asc())
        .select((n::recipient_email, n::body_text, n::calendar))
        .load::<(String, String, Option<String>)>(&mut conn)
        .unwrap()
}

/// The token of the answer link in a message's text.
fn token_in(text: &str) -> String {
    let start = text.find("/polls/answer?token=").expect("an answer link") + 20;
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '&' || c == '"' || c == '<')
        .next()
        .unwrap()
        .to_owned()
}

async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> reqwest::Response {
    app.send_json(reqwest::Method::PUT, path, token, None, Some(body))
        .await
}

async fn put_anon(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn slot_ids(poll: &Value) -> Vec<String> {
    poll["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn tally(poll: &Value, slot: &str) -> (i64, i64, i64, i64) {
    let s = poll["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == slot)
        .unwrap();
    let t = &s["tally"];
    (
        t["yes"].as_i64().unwrap(),
        t["if_need_be"].as_i64().unwrap(),
        t["no"].as_i64().unwrap(),
        t["no_answer"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn a_poll_is_answered_by_people_and_a_guest_and_turned_into_a_meeting() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let res = app
        .post(
            "/api/v1/scheduling-polls",
            &g.chair.token,
            &json!({
                "body_id": g.wg1, "title": "WG1 kick-off", "language": "en",
                "description": "Which suits you?",
                "slots": three_slots(),
                "people": [g.a.person_id, g.b.person_id],
                "guests": [{"name": "Kari Nordmann", "email": "Kari@Example.org"}]
            }),
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let poll: Value = res.json().await.unwrap();
    let id = id_of(&poll);
    assert_eq!(location, format!("/api/v1/scheduling-polls/{id}"));
    assert_eq!(poll["status"], "open");
    assert_eq!(poll["participants"].as_array().unwrap().len(), 3);
    let slots = slot_ids(&poll);
    assert_eq!(slots.len(), 3);
    assert_eq!(poll["slots"][0]["local_start"], "2030-03-04T10:00:00");
    assert_eq!(poll["slots"][0]["starts_at"], "2030-03-04T09:00:00Z");

    // Each participant is e-mailed a link to the answer page.
    let mails = queued(&app, "poll_invitation");
    let mut to: Vec<&str> = mails.iter().map(|(t, _, _)| t.as_str()).collect();
    to.sort();
    let mut expected = vec![
        g.a.person_email.clone(),
        g.b.person_email.clone(),
        "kari@example.org".to_owned(),
    ];
    expected.sort();
    assert_eq!(to, expected);
    let (_, guest_mail, _) = mails
        .iter()
        .find(|(t, _, _)| t == "kari@example.org")
        .unwrap();
    assert!(guest_mail.contains("WG1 kick-off"), "{guest_mail}");
    assert!(guest_mail.contains("proposes 3 times"), "{guest_mail}");
    let guest = token_in(guest_mail);
    let link = format!("/api/v1/poll-answers/{guest}");

    // The guest's page, in the poll's language.
    let page = app
        .client
        .get(app.url(&format!("/polls/answer?token={guest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("Save my answers"));

    // The guest answers through the link and sees the tally.
    let seen = expect(app.get_anon(&link).await, 200).await;
    assert_eq!(seen["name"], "Kari Nordmann");
    assert_eq!(seen["answers"], json!({}));
    let seen = expect(
        put_anon(
            &app,
            &link,
            &json!({"answers": {&slots[0]: "yes", &slots[1]: "if_need_be", &slots[2]: "no"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(seen["answers"][&slots[0]], "yes");
    assert_eq!(tally(&seen, &slots[0]), (1, 0, 0, 2));

    // People answer signed in; a slot not of this poll is refused.
    let answers = format!("/api/v1/scheduling-polls/{id}/answers");
    let missing = uuid::Uuid::now_v7().to_string();
    assert_field_error(
        put(
            &app,
            &answers,
            &g.a.token,
            &json!({"answers": {&missing: "yes"}}),
        )
        .await,
        &format!("answers.{missing}"),
        "unknown_slot",
    )
    .await;
    expect(
        put(
            &app,
            &answers,
            &g.a.token,
            &json!({"answers": {&slots[0]: "if_need_be", &slots[1]: "yes"}}),
        )
        .await,
        200,
    )
    .await;
    let mine = expect(
        put(
            &app,
            &answers,
            &g.b.token,
            &json!({"answers": {&slots[0]: "yes", &slots[1]: "no", &slots[2]: "yes"}}),
        )
        .await,
        200,
    )
    .await;
    assert!(mine["my_participant_id"].is_string());

    // Everyone asked sees the tally and the ranking; guests' addresses only the managers.
    let seen = expect(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.a.token)
            .await,
        200,
    )
    .await;
    assert_eq!(tally(&seen, &slots[0]), (2, 1, 0, 0));
    assert_eq!(tally(&seen, &slots[1]), (1, 1, 1, 0));
    assert_eq!(tally(&seen, &slots[2]), (1, 0, 1, 1));
    assert_eq!(seen["best_slots"], json!([&slots[0], &slots[1], &slots[2]]));
    let guest_row = |p: &Value| {
        p["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["guest"] == true)
            .unwrap()
            .clone()
    };
    assert_eq!(guest_row(&seen)["email"], Value::Null);
    assert_eq!(guest_row(&seen)["answers"][&slots[2]], "no");
    let by_chair = expect(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.chair.token)
            .await,
        200,
    )
    .await;
    assert_eq!(guest_row(&by_chair)["email"], "kari@example.org");
    let seen = expect(app.get_anon(&link).await, 200).await;
    assert_eq!(tally(&seen, &slots[0]), (2, 1, 0, 0));
    assert_eq!(seen["best_slots"][0], slots[0].as_str());

    // Someone not asked does not see it (404), nor lists it.
    assert_problem(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.outsider.token)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        put(
            &app,
            &answers,
            &g.outsider.token,
            &json!({"answers": {&slots[0]: "yes"}}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert!(
        app.list_items("/api/v1/scheduling-polls", &g.outsider.token)
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_items("/api/v1/scheduling-polls?status=open", &g.a.token)
            .await
            .len(),
        1
    );
    assert_eq!(
        app.list_items("/api/v1/scheduling-polls?status=scheduled", &g.a.token)
            .await
            .len(),
        0
    );

    // Forged links are 404.
    for forged in ["forged", "eyJhbGciOiJIUzI1NiJ9.e30.forged"] {
        assert_problem(
            app.get_anon(&format!("/api/v1/poll-answers/{forged}"))
                .await,
            404,
            "not-found",
        )
        .await;
        assert_problem(
            put_anon(
                &app,
                &format!("/api/v1/poll-answers/{forged}"),
                &json!({"answers": {&slots[0]: "yes"}}),
            )
            .await,
            404,
            "not-found",
        )
        .await;
    }

    // A participant who does not manage it may not close or schedule it.
    assert_problem(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/close"),
            &g.a.token,
            &json!({}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    // Closed: no more answers, by link or signed in.
    let closed = expect(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/close"),
            &g.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_problem(
        put(
            &app,
            &answers,
            &g.a.token,
            &json!({"answers": {&slots[2]: "yes"}}),
        )
        .await,
        409,
        "poll-closed",
    )
    .await;
    assert_problem(
        put_anon(&app, &link, &json!({"answers": {&slots[2]: "yes"}})).await,
        409,
        "poll-closed",
    )
    .await;
    assert_problem(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/close"),
            &g.chair.token,
            &json!({}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;

    // Scheduled: the meeting at the chosen slot, inviting the participants (not the body).
    assert_field_error(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/schedule"),
            &g.chair.token,
            &json!({"slot_id": missing}),
        )
        .await,
        "slot_id",
        "not_found",
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/scheduling-polls/{id}/schedule"),
            &g.chair.token,
            &json!({"slot_id": slots[0], "place": "Room 3"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let meeting: Value = res.json().await.unwrap();
    let meeting_id = id_of(&meeting);
    assert_eq!(location, format!("/api/v1/meetings/{meeting_id}"));
    assert_eq!(meeting["starts_at"], "2030-03-04T09:00:00Z");
    assert_eq!(meeting["ends_at"], "2030-03-04T10:00:00Z");
    assert_eq!(meeting["title"], "WG1 kick-off");
    assert_eq!(meeting["body_id"], g.wg1.as_str());
    assert_eq!(meeting["language"], "en");
    assert_eq!(meeting["place"], "Room 3");
    let invitees = expect(
        app.get(
            &format!("/api/v1/meetings/{meeting_id}/invitees"),
            &g.chair.token,
        )
        .await,
        200,
    )
    .await;
    let mut invited: Vec<String> = invitees["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| match i["person_id"].as_str() {
            Some(p) => p.to_owned(),
            None => i["email"].as_str().unwrap().to_owned(),
        })
        .collect();
    invited.sort();
    let mut participants = vec![
        g.a.person_id.clone(),
        g.b.person_id.clone(),
        "kari@example.org".to_owned(),
    ];
    participants.sort();
    assert_eq!(invited, participants);
    let invitations = queued(&app, "meeting_invitation");
    let mut to: Vec<&str> = invitations.iter().map(|(t, _, _)| t.as_str()).collect();
    to.sort();
    assert_eq!(to, expected);
    for (_, _, calendar) in &invitations {
        let calendar = calendar.as_deref().expect("a calendar part");
        assert!(calendar.contains("METHOD:REQUEST"), "{calendar}");
        assert!(calendar.contains("DTSTART:20300304T090000Z"), "{calendar}");
    }
    let poll = expect(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.chair.token)
            .await,
        200,
    )
    .await;
    assert_eq!(poll["status"], "scheduled");
    assert_eq!(poll["meeting_id"], meeting_id.as_str());
    assert_problem(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/schedule"),
            &g.chair.token,
            &json!({"slot_id": slots[1]}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    let seen = expect(app.get_anon(&link).await, 200).await;
    assert_eq!(seen["status"], "scheduled");
    assert_problem(
        put_anon(&app, &link, &json!({"answers": {&slots[2]: "yes"}})).await,
        409,
        "poll-closed",
    )
    .await;

    // Every step left its audit event.
    let events = app.audit_events(&g.admin, &format!("record_id={id}")).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "scheduling_poll.created",
        "scheduling_poll.closed",
        "scheduling_poll.scheduled",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let answered = app
        .audit_events(&g.admin, "action=poll_participant.answered")
        .await;
    assert_eq!(answered.len(), 3, "{answered:?}");
    assert!(
        answered
            .iter()
            .any(|e| e["actor_kind"] == "poll_participant"),
        "{answered:?}"
    );
}

#[tokio::test]
async fn a_chair_of_one_working_group_is_refused_on_anothers_polls() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    // Creating a poll for WG2, or one without a body: 403.
    for body in [json!(g.wg2), Value::Null] {
        assert_problem(
            app.post(
                "/api/v1/scheduling-polls",
                &g.chair.token,
                &json!({"body_id": body, "title": "Not mine", "slots": three_slots(),
                        "people": [g.a.person_id]}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // WG2's poll, the chair of WG1 asked in it: they see and answer it, but neither close nor
    // schedule it.
    let poll = expect(
        app.post(
            "/api/v1/scheduling-polls",
            &g.admin,
            &json!({"body_id": g.wg2, "title": "WG2 meeting", "slots": three_slots(),
                    "people": [g.chair.person_id], "invite_members": true}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&poll);
    let slots = slot_ids(&poll);
    // The body's members were asked too.
    assert_eq!(poll["participants"].as_array().unwrap().len(), 2);
    expect(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.chair.token)
            .await,
        200,
    )
    .await;
    expect(
        put(
            &app,
            &format!("/api/v1/scheduling-polls/{id}/answers"),
            &g.chair.token,
            &json!({"answers": {&slots[0]: "yes"}}),
        )
        .await,
        200,
    )
    .await;
    for action in ["close", "schedule"] {
        assert_problem(
            app.post(
                &format!("/api/v1/scheduling-polls/{id}/{action}"),
                &g.chair.token,
                &json!({"slot_id": slots[0]}),
            )
            .await,
            403,
            "forbidden",
        )
        .await;
    }
    // A member of WG1 not asked: 404; the admin who sees it but is not asked: 403 answering.
    assert_problem(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.a.token)
            .await,
        404,
        "not-found",
    )
    .await;
    assert_problem(
        put(
            &app,
            &format!("/api/v1/scheduling-polls/{id}/answers"),
            &g.admin,
            &json!({"answers": {&slots[0]: "yes"}}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let _ = (&g.b, &g.outsider);
}

#[tokio::test]
async fn two_concurrent_schedules_make_one_meeting() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let poll = expect(
        app.post(
            "/api/v1/scheduling-polls",
            &g.chair.token,
            &json!({"body_id": g.wg1, "title": "Race", "slots": three_slots(),
                    "people": [g.a.person_id]}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&poll);
    let slots = slot_ids(&poll);
    let path = format!("/api/v1/scheduling-polls/{id}/schedule");
    let (first, second) = (json!({"slot_id": slots[0]}), json!({"slot_id": slots[1]}));
    let (one, two) = tokio::join!(
        app.post(&path, &g.chair.token, &first),
        app.post(&path, &g.admin, &second),
    );
    let mut statuses = [one.status().as_u16(), two.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let mut conn = app.db_conn();
    use connect::schema::meetings as m;
    let made: i64 = m::table
        .filter(m::title.eq("Race"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(made, 1);
}

#[tokio::test]
async fn polls_are_validated() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let post = |body: Value| {
        let app = &app;
        let token = g.chair.token.clone();
        async move { app.post("/api/v1/scheduling-polls", &token, &body).await }
    };
    let base = |slots: Value| {
        json!({"body_id": g.wg1, "title": "Checked", "slots": slots,
               "people": [g.a.person_id]})
    };
    assert_field_error(post(base(json!([]))).await, "slots", "too_few").await;
    assert_field_error(
        post(base(
            json!([{"start": "2030-03-04T10:00:00", "end": "2030-03-04T09:00:00"}]),
        ))
        .await,
        "slots[0].end",
        "before_start",
    )
    .await;
    assert_field_error(
        post(base(
            json!([{"start": "2020-03-04T10:00:00", "end": "2020-03-04T11:00:00"}]),
        ))
        .await,
        "slots[0].start",
        "in_the_past",
    )
    .await;
    assert_field_error(
        post(base(json!([
            {"start": "2030-03-04T10:00:00", "end": "2030-03-04T11:00:00"},
            {"start": "2030-03-04T10:00:00", "end": "2030-03-04T11:00:00"}
        ])))
        .await,
        "slots[1]",
        "duplicate",
    )
    .await;
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"start": format!("2030-04-{:02}T10:00:00", i % 28 + 1), "end": format!("2030-04-{:02}T{:02}:00:00", i % 28 + 1, 11 + i / 28)}))
        .collect();
    assert_field_error(post(base(json!(many))).await, "slots", "too_many").await;
    let mut bad_zone = base(three_slots());
    bad_zone["time_zone"] = json!("Europe/Atlantis");
    assert_field_error(post(bad_zone).await, "time_zone", "unknown_time_zone").await;
    let mut nobody = base(three_slots());
    nobody["people"] = json!([]);
    assert_field_error(post(nobody).await, "people", "required").await;
    let mut stranger = base(three_slots());
    stranger["people"] = json!([uuid::Uuid::now_v7().to_string()]);
    assert_field_error(post(stranger).await, "people[0]", "not_found").await;
    let mut guest = base(three_slots());
    guest["guests"] = json!([{"name": "No Mail", "email": "not-an-address"}]);
    assert_field_error(post(guest).await, "guests[0].email", "invalid_format").await;
    let mut no_body = base(three_slots());
    no_body["body_id"] = json!(uuid::Uuid::now_v7().to_string());
    assert_field_error(post(no_body).await, "body_id", "not_found").await;
    let mut unknown = base(three_slots());
    unknown["colour"] = json!("red");
    let res = post(unknown).await;
    assert!(
        [400, 422].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    // An empty set of answers is refused too.
    let poll = expect(post(base(three_slots())).await, 201).await;
    assert_field_error(
        put(
            &app,
            &format!("/api/v1/scheduling-polls/{}/answers", id_of(&poll)),
            &g.a.token,
            &json!({"answers": {}}),
        )
        .await,
        "answers",
        "required",
    )
    .await;
    let _ = (&g.wg2, &g.b, &g.outsider, &g.admin);
}

#[tokio::test]
async fn slots_in_oslo_time_across_the_march_change_are_stored_right() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    // Clocks go forward on Sunday 31 March 2030 at 02:00 in Oslo.
    let poll = expect(
        app.post(
            "/api/v1/scheduling-polls",
            &g.chair.token,
            &json!({"body_id": g.wg1, "title": "Spring", "time_zone": "Europe/Oslo",
                    "slots": [
                        {"start": "2030-03-29T14:00:00", "end": "2030-03-29T15:00:00"},
                        {"start": "2030-04-01T14:00:00", "end": "2030-04-01T15:00:00"}
                    ],
                    "people": [g.a.person_id]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(poll["slots"][0]["starts_at"], "2030-03-29T13:00:00Z");
    assert_eq!(poll["slots"][0]["local_start"], "2030-03-29T14:00:00");
    assert_eq!(poll["slots"][1]["starts_at"], "2030-04-01T12:00:00Z");
    assert_eq!(poll["slots"][1]["local_start"], "2030-04-01T14:00:00");
    // A time the clocks skip does not exist.
    assert_field_error(
        app.post(
            "/api/v1/scheduling-polls",
            &g.chair.token,
            &json!({"body_id": g.wg1, "title": "Skipped",
                    "slots": [{"start": "2030-03-31T02:30:00", "end": "2030-03-31T03:30:00"}],
                    "people": [g.a.person_id]}),
        )
        .await,
        "slots[0].start",
        "nonexistent_local_time",
    )
    .await;
    // The meeting keeps the local time after the change.
    let slot = poll["slots"][1]["id"].as_str().unwrap();
    let meeting = expect(
        app.post(
            &format!("/api/v1/scheduling-polls/{}/schedule", id_of(&poll)),
            &g.chair.token,
            &json!({"slot_id": slot}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(meeting["starts_at"], "2030-04-01T12:00:00Z");
    assert_eq!(meeting["local_start"], "2030-04-01T14:00:00");
    assert_eq!(meeting["time_zone"], "Europe/Oslo");
}

#[tokio::test]
async fn a_poll_past_its_closing_time_reads_closed_and_takes_no_answers() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let closes = (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339();
    let poll = expect(
        app.post(
            "/api/v1/scheduling-polls",
            &g.chair.token,
            &json!({"body_id": g.wg1, "title": "Soon closed", "slots": three_slots(),
                    "closes_at": closes, "people": [g.a.person_id]}),
        )
        .await,
        201,
    )
    .await;
    let id = id_of(&poll);
    let slots = slot_ids(&poll);
    // The closing time has come (set back in the database rather than waited for).
    {
        use connect::schema::scheduling_polls as sp;
        let mut conn = app.db_conn();
        diesel::update(sp::table.filter(sp::id.eq(&id)))
            .set(sp::closes_at.eq(Some(
                chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(1),
            )))
            .execute(&mut conn)
            .unwrap();
    }
    let seen = expect(
        app.get(&format!("/api/v1/scheduling-polls/{id}"), &g.a.token)
            .await,
        200,
    )
    .await;
    assert_eq!(seen["status"], "closed");
    assert_problem(
        put(
            &app,
            &format!("/api/v1/scheduling-polls/{id}/answers"),
            &g.a.token,
            &json!({"answers": {&slots[0]: "yes"}}),
        )
        .await,
        409,
        "poll-closed",
    )
    .await;
    let closed = app
        .list_items("/api/v1/scheduling-polls?status=closed", &g.a.token)
        .await;
    assert_eq!(names_of_polls(&closed), ["Soon closed"]);
    assert!(
        app.list_items("/api/v1/scheduling-polls?status=open", &g.a.token)
            .await
            .is_empty()
    );
    // It may still be closed for good, and scheduled.
    expect(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/close"),
            &g.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    expect(
        app.post(
            &format!("/api/v1/scheduling-polls/{id}/schedule"),
            &g.chair.token,
            &json!({"slot_id": slots[2]}),
        )
        .await,
        201,
    )
    .await;
}

fn names_of_polls(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_secretariats_poll_without_a_body_becomes_an_open_event() {
    let app = spawn_app().await;
    let g = groups(&app).await;
    let poll = expect(
        app.post(
            "/api/v1/scheduling-polls",
            &g.admin,
            &json!({"title": "Partner webinar", "language": "nb", "slots": three_slots(),
                    "guests": [{"name": "Per Gjest", "email": "per@example.org"}]}),
        )
        .await,
        201,
    )
    .await;
    // The invitation is in the poll's language.
    let mails = queued(&app, "poll_invitation");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].1.contains("Hei Per Gjest"), "{}", mails[0].1);
    let meeting = expect(
        app.post(
            &format!("/api/v1/scheduling-polls/{}/schedule", id_of(&poll)),
            &g.admin,
            &json!({"slot_id": slot_ids(&poll)[1], "title": "Partner webinar (final)"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(meeting["kind"], "open_event");
    assert_eq!(meeting["body_id"], Value::Null);
    assert_eq!(meeting["title"], "Partner webinar (final)");
    assert_eq!(meeting["invitee_count"], 1);
    let _ = (&g.wg2, &g.b, &g.outsider, &g.chair, &g.a, &g.wg1);
}
