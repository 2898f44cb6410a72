//! A meeting's proceedings through HTTP: the agenda's positions kept 1..n through inserts, moves
//! and removals, documents checked, minutes drafted by the secretary and approved by the chair
//! (then read-only, in SQL too), attendance with the quorum by the body's rules (observers and
//! suspended partners' people do not count), decisions taken at a meeting, action items with
//! their owners, `/me/action-items` and the one reminder, a chair refused on another group's
//! meeting, and scopes.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

/// A working group (quorum 50 %) with a chair, a secretary, two members (partners) and an
/// observer; a second group where the first's chair only sits as a member; an outsider.
struct Fixture {
    admin: String,
    wg: String,
    other: String,
    chair: Member,
    secretary: Member,
    a: Member,
    b: Member,
    observer: Member,
    outsider: Member,
}

async fn group(app: &TestApp, admin: &str, name: &str) -> String {
    id_of(
        &expect(
            app.post(
                "/api/v1/bodies",
                admin,
                &json!({"kind": "working_group", "name": name, "quorum_percent": 50}),
            )
            .await,
            201,
        )
        .await,
    )
}

/// Seats a member from the start of 2024, so the seat holds on the past meetings' days too.
async fn seat(app: &TestApp, admin: &str, body: &str, m: &Member, role: &str) {
    expect(
        app.post(
            &format!("/api/v1/bodies/{body}/members"),
            admin,
            &json!({"person_id": m.person_id, "role": role, "from_date": "2024-01-01"}),
        )
        .await,
        201,
    )
    .await;
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.admin_token().await;
    let wg = group(app, &admin, "WG1").await;
    let other = group(app, &admin, "WG2").await;
    let chair = app.member(&admin, "Chair Hospital", "partner").await;
    let secretary = app.member(&admin, "Secretary Institute", "partner").await;
    let a = app.member(&admin, "Alpha Pharma", "partner").await;
    let b = app.member(&admin, "Beta Pharma", "partner").await;
    let observer = app.member(&admin, "Watcher Ltd", "observer").await;
    let outsider = app.member(&admin, "Outside Ltd", "partner").await;
    seat(app, &admin, &wg, &chair, "chair").await;
    seat(app, &admin, &wg, &secretary, "secretary").await;
    seat(app, &admin, &wg, &a, "member").await;
    seat(app, &admin, &wg, &b, "member").await;
    seat(app, &admin, &wg, &observer, "observer").await;
    seat(app, &admin, &other, &chair, "member").await;
    seat(app, &admin, &other, &outsider, "chair").await;
    Fixture {
        admin,
        wg,
        other,
        chair,
        secretary,
        a,
        b,
        observer,
        outsider,
    }
}

/// A meeting of `body` `days` from today (negative: in the past), 10:00 to 12:00 in Oslo.
async fn meeting(app: &TestApp, token: &str, body: &str, days: i64) -> String {
    let day = (Utc::now() + TimeDelta::days(days)).date_naive();
    id_of(
        &expect(
            app.post(
                "/api/v1/meetings",
                token,
                &json!({"body_id": body, "title": "Monthly meeting",
                        "start": format!("{day}T10:00:00"), "end": format!("{day}T12:00:00")}),
            )
            .await,
            201,
        )
        .await,
    )
}

async fn put(
    app: &TestApp,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    app.send_json(reqwest::Method::PUT, path, token, if_match, Some(&body))
        .await
}

async fn add_item(app: &TestApp, token: &str, m: &str, body: Value) -> Value {
    expect(
        app.post(&format!("/api/v1/meetings/{m}/agenda-items"), token, &body)
            .await,
        201,
    )
    .await
}

async fn agenda(app: &TestApp, token: &str, m: &str) -> Value {
    app.get_ok(&format!("/api/v1/meetings/{m}/agenda-items"), token)
        .await
}

/// The agenda's titles in order, asserting the positions are 1..n.
async fn titles(app: &TestApp, token: &str, m: &str) -> Vec<String> {
    let list = agenda(app, token, m).await;
    let items = list["items"].as_array().unwrap();
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["position"], i as i64 + 1, "{list}");
    }
    items
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

fn mailer() -> connect::notifications::Mailer {
    connect::notifications::Mailer::new("http://localhost", "connect@example.org").unwrap()
}

#[tokio::test]
async fn the_agenda_keeps_its_positions_without_gaps() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.secretary.token, &f.wg, 7).await;
    let path = format!("/api/v1/meetings/{m}/agenda-items");
    add_item(
        &app,
        &f.secretary.token,
        &m,
        json!({"title": "A", "duration_minutes": 30}),
    )
    .await;
    add_item(
        &app,
        &f.secretary.token,
        &m,
        json!({"title": "B", "duration_minutes": 40}),
    )
    .await;
    let c = add_item(
        &app,
        &f.secretary.token,
        &m,
        json!({"title": "C", "duration_minutes": 30, "presenter_person_id": f.a.person_id,
               "documents": [{"title": "Paper", "url": "https://docs.example.org/c.pdf"}]}),
    )
    .await;
    assert_eq!(c["position"], 3);
    assert_eq!(c["presenter_name"], "Alpha Pharma Person");
    assert_eq!(c["documents"][0]["url"], "https://docs.example.org/c.pdf");
    // Inserted first: the others move down.
    let z = add_item(
        &app,
        &f.chair.token,
        &m,
        json!({"title": "Z", "position": 1, "presenter_name": "Kari Nordmann"}),
    )
    .await;
    assert_eq!(titles(&app, &f.a.token, &m).await, ["Z", "A", "B", "C"]);
    let list = agenda(&app, &f.a.token, &m).await;
    assert_eq!(list["total_minutes"], 100);
    assert_eq!(list["meeting_minutes"], 120);
    assert_eq!(list["overruns"], false);
    // Moved to the end, then C to the front.
    let zpath = format!("{path}/{}", id_of(&z));
    let moved = expect(
        app.patch(
            &zpath,
            &f.secretary.token,
            Some(&app.current_etag(&zpath, &f.a.token).await),
            &json!({"position": 4, "duration_minutes": 30}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(moved["position"], 4);
    assert_eq!(titles(&app, &f.a.token, &m).await, ["A", "B", "C", "Z"]);
    let cpath = format!("{path}/{}", id_of(&c));
    let stale = app.current_etag(&cpath, &f.a.token).await;
    assert_eq!(
        stale, "\"3\"",
        "moved down, then up: its version follows its position"
    );
    expect(
        app.patch(
            &cpath,
            &f.secretary.token,
            Some(&stale),
            &json!({"position": 1}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(titles(&app, &f.a.token, &m).await, ["C", "A", "B", "Z"]);
    let list = agenda(&app, &f.a.token, &m).await;
    assert_eq!(list["total_minutes"], 130);
    assert_eq!(list["overruns"], true);
    // Out of range, stale and missing preconditions.
    assert_field_error(
        app.patch(
            &cpath,
            &f.secretary.token,
            Some(&app.current_etag(&cpath, &f.a.token).await),
            &json!({"position": 5}),
        )
        .await,
        "position",
        "out_of_range",
    )
    .await;
    expect(
        app.patch(
            &cpath,
            &f.secretary.token,
            Some(&stale),
            &json!({"title": "Late"}),
        )
        .await,
        412,
    )
    .await;
    assert_field_error(
        app.post(
            &path,
            &f.secretary.token,
            &json!({"title": "X", "position": 6}),
        )
        .await,
        "position",
        "out_of_range",
    )
    .await;
    // Removed from the middle: the others close up.
    let a_id = id_of(&agenda(&app, &f.a.token, &m).await["items"][1]);
    expect(
        app.delete(&format!("{path}/{a_id}"), &f.secretary.token, None)
            .await,
        428,
    )
    .await;
    let a_tag = app
        .current_etag(&format!("{path}/{a_id}"), &f.a.token)
        .await;
    expect(
        app.delete(&format!("{path}/{a_id}"), &f.secretary.token, Some(&a_tag))
            .await,
        204,
    )
    .await;
    assert_eq!(titles(&app, &f.a.token, &m).await, ["C", "B", "Z"]);
    expect(app.get(&format!("{path}/{a_id}"), &f.a.token).await, 404).await;
    let one = expect(app.get(&cpath, &f.a.token).await, 200).await;
    assert_eq!(one["position"], 1);
    // Members read it and may not change it; outsiders do not see it.
    expect(
        app.post(&path, &f.a.token, &json!({"title": "Mine"})).await,
        403,
    )
    .await;
    expect(app.get(&path, &f.outsider.token).await, 404).await;
    // Not on a cancelled meeting.
    expect(
        app.post(
            &format!("/api/v1/meetings/{m}/cancel"),
            &f.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_problem(
        app.post(&path, &f.secretary.token, &json!({"title": "After"}))
            .await,
        409,
        "invalid-transition",
    )
    .await;
}

#[tokio::test]
async fn agenda_documents_presenters_and_decisions_are_checked() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, 7).await;
    let path = format!("/api/v1/meetings/{m}/agenda-items");
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T",
            "documents": [{"title": "Ok", "url": "https://a.example.org/x"},
                          {"title": "Bad", "url": "ftp://a.example.org/x"}]}),
        )
        .await,
        "documents[1].url",
        "invalid_format",
    )
    .await;
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"title": format!("D{i}"), "url": "https://a.example.org/x"}))
        .collect();
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "documents": many}),
        )
        .await,
        "documents",
        "too_many",
    )
    .await;
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "documents": [{"title": "", "url": "https://a.example.org"}]}),
        )
        .await,
        "documents[0].title",
        "required",
    )
    .await;
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "presenter_person_id": f.a.person_id, "presenter_name": "Kari"}),
        )
        .await,
        "presenter_name",
        "person_or_name",
    )
    .await;
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "duration_minutes": 0}),
        )
        .await,
        "duration_minutes",
        "out_of_range",
    )
    .await;
    // A decision of another body is refused; one of this body is linked.
    let foreign = id_of(
        &expect(
            app.post(
                "/api/v1/decisions",
                &f.admin,
                &json!({"body_id": f.other, "title": "Other",
                "text": "x", "kind": "resolution"}),
            )
            .await,
            201,
        )
        .await,
    );
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "decision_id": foreign}),
        )
        .await,
        "decision_id",
        "other_body",
    )
    .await;
    let own = id_of(
        &expect(
            app.post(
                "/api/v1/decisions",
                &f.chair.token,
                &json!({"body_id": f.wg, "title": "Ours",
                "text": "x", "kind": "resolution"}),
            )
            .await,
            201,
        )
        .await,
    );
    let item = add_item(
        &app,
        &f.chair.token,
        &m,
        json!({"title": "T", "decision_id": own}),
    )
    .await;
    assert_eq!(item["decision_id"], own);
}

#[tokio::test]
async fn minutes_are_drafted_approved_by_the_chair_and_then_read_only() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let future = meeting(&app, &f.chair.token, &f.wg, 7).await;
    assert_problem(
        put(
            &app,
            &f.secretary.token,
            &format!("/api/v1/meetings/{future}/minutes"),
            None,
            json!({"body": "Too early"}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let path = format!("/api/v1/meetings/{m}/minutes");
    expect(app.get(&path, &f.a.token).await, 404).await;
    // The secretary drafts; a member may not.
    expect(
        put(&app, &f.a.token, &path, None, json!({"body": "Mine"})).await,
        403,
    )
    .await;
    let drafted = expect(
        put(
            &app,
            &f.secretary.token,
            &path,
            None,
            json!({"body": "1. Opening.\n2. Budget."}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(drafted["status"], "draft");
    assert_eq!(drafted["version"], 1);
    expect(
        put(
            &app,
            &f.secretary.token,
            &path,
            None,
            json!({"body": "Again"}),
        )
        .await,
        428,
    )
    .await;
    let replaced = expect(
        put(
            &app,
            &f.secretary.token,
            &path,
            Some("\"1\""),
            json!({"body": "1. Opening.\n2. Budget adopted."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(replaced["version"], 2);
    expect(
        put(
            &app,
            &f.secretary.token,
            &path,
            Some("\"1\""),
            json!({"body": "Stale"}),
        )
        .await,
        412,
    )
    .await;
    assert_field_error(
        put(
            &app,
            &f.secretary.token,
            &path,
            Some("\"2\""),
            json!({"body": "  "}),
        )
        .await,
        "body",
        "required",
    )
    .await;
    let read = app.get_ok(&path, &f.a.token).await;
    assert_eq!(read["body"], "1. Opening.\n2. Budget adopted.");
    // Approval: not the secretary, not a member; the chair, citing an adopted decision of the
    // body (another body's, or one not adopted, is refused).
    let approve = format!("{path}/approve");
    expect(
        app.post(&approve, &f.secretary.token, &json!({})).await,
        403,
    )
    .await;
    expect(app.post(&approve, &f.a.token, &json!({})).await, 403).await;
    expect(app.post(&approve, &f.outsider.token, &json!({})).await, 404).await;
    let foreign = id_of(
        &expect(
            app.post(
                "/api/v1/decisions",
                &f.admin,
                &json!({"body_id": f.other, "title": "Other",
                "text": "x", "kind": "resolution"}),
            )
            .await,
            201,
        )
        .await,
    );
    assert_field_error(
        app.post(&approve, &f.chair.token, &json!({"decision_id": foreign}))
            .await,
        "decision_id",
        "other_body",
    )
    .await;
    let proposed = id_of(
        &expect(
            app.post("/api/v1/decisions", &f.chair.token, &json!({"body_id": f.wg,
                "title": "Approve the minutes", "text": "x", "kind": "resolution", "meeting_id": m}))
                .await,
            201,
        )
        .await,
    );
    assert_field_error(
        app.post(&approve, &f.chair.token, &json!({"decision_id": proposed}))
            .await,
        "decision_id",
        "not_adopted",
    )
    .await;
    let open = format!("/api/v1/decisions/{proposed}/open");
    expect(
        app.post(
            &open,
            &f.chair.token,
            &json!({"deadline": (Utc::now() + TimeDelta::days(2)).to_rfc3339()}),
        )
        .await,
        200,
    )
    .await;
    for voter in [&f.chair, &f.secretary, &f.a] {
        expect(
            put(
                &app,
                &voter.token,
                &format!("/api/v1/decisions/{proposed}/vote"),
                None,
                json!({"choice": "yes"}),
            )
            .await,
            200,
        )
        .await;
    }
    let closed = expect(
        app.post(
            &format!("/api/v1/decisions/{proposed}/close"),
            &f.chair.token,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(closed["status"], "adopted", "{closed}");
    let approved = expect(
        app.post(&approve, &f.chair.token, &json!({"decision_id": proposed}))
            .await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approval_decision_id"], proposed);
    assert!(approved["approved_at"].is_string());
    // Read-only from now on: every write answers 409.
    assert_problem(
        put(
            &app,
            &f.secretary.token,
            &path,
            Some("\"3\""),
            json!({"body": "Changed"}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    assert_problem(
        put(&app, &f.admin, &path, None, json!({"body": "Changed"})).await,
        409,
        "invalid-transition",
    )
    .await;
    assert_problem(
        app.post(&approve, &f.chair.token, &json!({})).await,
        409,
        "invalid-transition",
    )
    .await;
    // And in SQL: the conditional update the service uses changes nothing.
    {
        use connect::core::MinutesStatus;
        use connect::schema::meeting_minutes as mm;
        use diesel::prelude::*;
        let mut conn = app.db_conn();
        let n = diesel::update(
            mm::table
                .filter(mm::meeting_id.eq(&m))
                .filter(mm::status.eq(MinutesStatus::Draft)),
        )
        .set(mm::body.eq("Rewritten"))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(n, 0);
    }
    assert_eq!(
        app.get_ok(&path, &f.a.token).await["body"],
        "1. Opening.\n2. Budget adopted."
    );
}

#[tokio::test]
async fn attendance_gives_the_quorum_by_the_bodys_rules() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let future = meeting(&app, &f.chair.token, &f.wg, 7).await;
    assert_problem(
        put(
            &app,
            &f.chair.token,
            &format!("/api/v1/meetings/{future}/attendance"),
            None,
            json!({"items": []}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let path = format!("/api/v1/meetings/{m}/attendance");
    let before = app.get_ok(&path, &f.a.token).await;
    // Voting members: the chair, the secretary, a and b (the observer has no vote): 4; 50 % → 2.
    assert_eq!(before["quorum"]["voting_members"], 4, "{before}");
    assert_eq!(before["quorum"]["quorum_needed"], 2);
    assert_eq!(before["quorum"]["quorum_reached"], false);
    assert_eq!(before["counts"]["unrecorded"], 5);
    let invitee = |person: &str| {
        before["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["person_id"] == person)
            .map(|i| i["invitee_id"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let (chair, a, b, observer) = (
        invitee(&f.chair.person_id),
        invitee(&f.a.person_id),
        invitee(&f.b.person_id),
        invitee(&f.observer.person_id),
    );
    // The chair and the observer present: one voting member, no quorum.
    expect(
        put(
            &app,
            &f.a.token,
            &path,
            None,
            json!({"items": [{"invitee_id": chair, "attendance": "present"}]}),
        )
        .await,
        403,
    )
    .await;
    let r = expect(
        put(
            &app,
            &f.secretary.token,
            &path,
            None,
            json!({"items": [
            {"invitee_id": chair, "attendance": "present"},
            {"invitee_id": observer, "attendance": "present"},
            {"invitee_id": b, "attendance": "excused"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["counts"]["present"], 2);
    assert_eq!(r["counts"]["excused"], 1);
    assert_eq!(r["quorum"]["present_voting_members"], 1, "{r}");
    assert_eq!(r["quorum"]["quorum_reached"], false);
    // a present too: quorum.
    let r = expect(
        put(
            &app,
            &f.chair.token,
            &path,
            None,
            json!({"items": [{"invitee_id": a, "attendance": "present"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["quorum"]["present_voting_members"], 2);
    assert_eq!(r["quorum"]["quorum_reached"], true);
    let got = app.get_ok(&path, &f.b.token).await;
    assert_eq!(got["quorum"]["quorum_reached"], true);
    // a's organisation suspended: a no longer counts (3 voting members, 2 needed, 1 present).
    let today = Utc::now().date_naive().to_string();
    app.change_status(&f.admin, &f.a.organisation_id, "suspended", &today)
        .await;
    let got = app.get_ok(&path, &f.chair.token).await;
    assert_eq!(got["quorum"]["voting_members"], 3, "{got}");
    assert_eq!(got["quorum"]["present_voting_members"], 1);
    assert_eq!(got["quorum"]["quorum_reached"], false);
    let a_row = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["invitee_id"] == a)
        .unwrap()
        .clone();
    assert_eq!(a_row["voting"], false);
    assert_eq!(a_row["attendance"], "present");
    // Another meeting's invitee is refused.
    let other = meeting(&app, &f.chair.token, &f.wg, -2).await;
    let foreign = id_of(
        &app.list_items(
            &format!("/api/v1/meetings/{other}/invitees"),
            &f.chair.token,
        )
        .await[0],
    );
    assert_field_error(
        put(
            &app,
            &f.chair.token,
            &path,
            None,
            json!({"items": [{"invitee_id": foreign, "attendance": "absent"}]}),
        )
        .await,
        "items[0].invitee_id",
        "not_found",
    )
    .await;
    // An open event: counts only.
    let day = (Utc::now() - TimeDelta::days(1)).date_naive();
    let event = id_of(
        &expect(
            app.post(
                "/api/v1/meetings",
                &f.admin,
                &json!({"kind": "open_event", "title": "Open day",
                "start": format!("{day}T10:00:00"), "end": format!("{day}T12:00:00")}),
            )
            .await,
            201,
        )
        .await,
    );
    let guest = id_of(
        &expect(
            app.post(
                &format!("/api/v1/meetings/{event}/invitees"),
                &f.admin,
                &json!({"name": "Guest", "email": "guest@example.org"}),
            )
            .await,
            201,
        )
        .await,
    );
    let r = expect(
        put(
            &app,
            &f.admin,
            &format!("/api/v1/meetings/{event}/attendance"),
            None,
            json!({"items": [{"invitee_id": guest, "attendance": "present"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(r["counts"]["present"], 1);
    assert_eq!(r["quorum"], Value::Null);
    assert_eq!(r["items"][0]["voting"], Value::Null);
}

#[tokio::test]
async fn decisions_are_taken_at_a_meeting_of_their_body() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let foreign_meeting = meeting(&app, &f.outsider.token, &f.other, -1).await;
    assert_field_error(
        app.post(
            "/api/v1/decisions",
            &f.chair.token,
            &json!({"body_id": f.wg, "title": "T",
            "text": "x", "kind": "resolution", "meeting_id": foreign_meeting}),
        )
        .await,
        "meeting_id",
        "other_body",
    )
    .await;
    let d = expect(
        app.post(
            "/api/v1/decisions",
            &f.chair.token,
            &json!({"body_id": f.wg, "title": "Taken",
            "text": "x", "kind": "resolution", "meeting_id": m}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(d["meeting_id"], m);
    expect(
        app.post(
            "/api/v1/decisions",
            &f.chair.token,
            &json!({"body_id": f.wg, "title": "Elsewhere",
            "text": "x", "kind": "resolution"}),
        )
        .await,
        201,
    )
    .await;
    let listed = app
        .list_items(&format!("/api/v1/meetings/{m}/decisions"), &f.a.token)
        .await;
    assert_eq!(names_of_titles(&listed), ["Taken"]);
    expect(
        app.get(
            &format!("/api/v1/meetings/{m}/decisions"),
            &f.outsider.token,
        )
        .await,
        404,
    )
    .await;
}

fn names_of_titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn action_items_belong_to_their_owners_who_mark_them_done() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let path = format!("/api/v1/meetings/{m}/action-items");
    let item = add_item(&app, &f.chair.token, &m, json!({"title": "Data sharing"})).await;
    assert_field_error(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "T", "owner_person_id": f.outsider.person_id,
            "due_on": "2030-01-01"}),
        )
        .await,
        "owner_person_id",
        "not_a_participant",
    )
    .await;
    expect(
        app.post(
            &path,
            &f.a.token,
            &json!({"title": "T", "owner_person_id": f.a.person_id,
            "due_on": "2030-01-01"}),
        )
        .await,
        403,
    )
    .await;
    let first = expect(
        app.post(&path, &f.secretary.token, &json!({"title": "Send the template",
            "owner_person_id": f.a.person_id, "due_on": "2030-03-01", "agenda_item_id": id_of(&item)}))
            .await,
        201,
    )
    .await;
    assert_eq!(first["status"], "open");
    assert_eq!(first["owner_name"], "Alpha Pharma Person");
    let second = expect(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "Review the budget",
            "owner_person_id": f.a.person_id, "due_on": "2030-02-01"}),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "B's task",
            "owner_person_id": f.b.person_id, "due_on": "2030-01-15"}),
        )
        .await,
        201,
    )
    .await;
    let listed = app.list_items(&path, &f.observer.token).await;
    assert_eq!(
        names_of_titles(&listed),
        ["B's task", "Review the budget", "Send the template"]
    );
    // Mine, by due date, one page at a time.
    let page = app
        .get_ok("/api/v1/me/action-items?limit=1", &f.a.token)
        .await;
    assert_eq!(page["items"][0]["title"], "Review the budget");
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let page = app
        .get_ok(
            &format!("/api/v1/me/action-items?limit=1&cursor={cursor}"),
            &f.a.token,
        )
        .await;
    assert_eq!(page["items"][0]["title"], "Send the template");
    assert_eq!(page["next_cursor"], Value::Null);
    let before = app
        .list_items("/api/v1/me/action-items?due_before=2030-02-15", &f.a.token)
        .await;
    assert_eq!(names_of_titles(&before), ["Review the budget"]);
    assert!(
        app.list_items("/api/v1/me/action-items", &f.outsider.token)
            .await
            .is_empty()
    );
    // The owner marks it done, and may do nothing more; someone else may not touch it.
    let one = format!("{path}/{}", id_of(&second));
    expect(
        app.patch(
            &one,
            &f.a.token,
            Some("\"1\""),
            &json!({"title": "Mine now"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        app.patch(
            &one,
            &f.a.token,
            Some("\"1\""),
            &json!({"status": "dropped"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        app.patch(&one, &f.b.token, Some("\"1\""), &json!({"status": "done"}))
            .await,
        403,
    )
    .await;
    let done = expect(
        app.patch(&one, &f.a.token, Some("\"1\""), &json!({"status": "done"}))
            .await,
        200,
    )
    .await;
    assert_eq!(done["status"], "done");
    assert!(done["done_at"].is_string());
    let mine = app.list_items("/api/v1/me/action-items", &f.a.token).await;
    assert_eq!(names_of_titles(&mine), ["Send the template"]);
    let finished = app
        .list_items("/api/v1/me/action-items?status=done", &f.a.token)
        .await;
    assert_eq!(names_of_titles(&finished), ["Review the budget"]);
    // Those who manage the meeting change anything, e.g. drop it.
    let dropped = expect(
        app.patch(
            &format!("{path}/{}", id_of(&first)),
            &f.secretary.token,
            Some("\"1\""),
            &json!({"status": "dropped", "due_on": "2030-04-01"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dropped["status"], "dropped");
    assert_eq!(dropped["due_on"], "2030-04-01");
    expect(app.get(&one, &f.outsider.token).await, 404).await;
}

#[tokio::test]
async fn an_action_item_due_soon_is_reminded_once() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let path = format!("/api/v1/meetings/{m}/action-items");
    let tomorrow = (Utc::now() + TimeDelta::days(1)).date_naive().to_string();
    let later = (Utc::now() + TimeDelta::days(5)).date_naive().to_string();
    let soon = expect(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "Due soon",
            "owner_person_id": f.a.person_id, "due_on": tomorrow}),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.post(
            &path,
            &f.chair.token,
            &json!({"title": "Due later",
            "owner_person_id": f.b.person_id, "due_on": later}),
        )
        .await,
        201,
    )
    .await;
    let mut conn = app.db_conn();
    let job = connect::meetings::proceedings::repo::job;
    assert_eq!(job(&mut conn, &mailer()).unwrap(), 1);
    assert_eq!(job(&mut conn, &mailer()).unwrap(), 0);
    let sent = app
        .list_items(
            "/api/v1/notifications?kind=action_item_due&limit=200",
            &f.admin,
        )
        .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient_email"], f.a.email, "{}", sent[0]);
    let got = app
        .get_ok(&format!("{path}/{}", id_of(&soon)), &f.a.token)
        .await;
    assert!(got["reminded_at"].is_string());
}

#[tokio::test]
async fn a_chair_is_refused_on_another_groups_meeting() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    // The first group's chair sits in the second as a member: they see its meeting, and change
    // nothing of it.
    let m = meeting(&app, &f.outsider.token, &f.other, -1).await;
    let base = format!("/api/v1/meetings/{m}");
    app.get_ok(&format!("{base}/agenda-items"), &f.chair.token)
        .await;
    expect(
        app.post(
            &format!("{base}/agenda-items"),
            &f.chair.token,
            &json!({"title": "T"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        put(
            &app,
            &f.chair.token,
            &format!("{base}/minutes"),
            None,
            json!({"body": "x"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        put(
            &app,
            &f.chair.token,
            &format!("{base}/attendance"),
            None,
            json!({"items": []}),
        )
        .await,
        403,
    )
    .await;
    expect(
        app.post(
            &format!("{base}/action-items"),
            &f.chair.token,
            &json!({"title": "T",
            "owner_person_id": f.chair.person_id, "due_on": "2030-01-01"}),
        )
        .await,
        403,
    )
    .await;
    expect(
        put(
            &app,
            &f.outsider.token,
            &format!("{base}/minutes"),
            None,
            json!({"body": "x"}),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.post(
            &format!("{base}/minutes/approve"),
            &f.chair.token,
            &json!({}),
        )
        .await,
        403,
    )
    .await;
    // A member of neither sees nothing.
    expect(
        app.get(&format!("{base}/minutes"), &f.secretary.token)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn proceedings_need_the_meeting_scopes() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, -1).await;
    let (_, read) = app
        .create_api_token(&f.chair.token, &["meetings:read"])
        .await;
    let (_, write) = app
        .create_api_token(&f.chair.token, &["meetings:write"])
        .await;
    let (_, other) = app.create_api_token(&f.chair.token, &["bodies:read"]).await;
    let path = format!("/api/v1/meetings/{m}/agenda-items");
    expect(app.get(&path, &read).await, 200).await;
    expect(
        app.get(&format!("/api/v1/meetings/{m}/attendance"), &read)
            .await,
        200,
    )
    .await;
    expect(app.get("/api/v1/me/action-items", &read).await, 200).await;
    expect(app.get(&path, &other).await, 403).await;
    expect(app.get("/api/v1/me/action-items", &other).await, 403).await;
    expect(app.post(&path, &read, &json!({"title": "T"})).await, 403).await;
    expect(app.post(&path, &write, &json!({"title": "T"})).await, 201).await;
    expect(
        put(
            &app,
            &read,
            &format!("/api/v1/meetings/{m}/minutes"),
            None,
            json!({"body": "x"}),
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn concurrent_inserts_at_the_top_keep_the_positions_without_gaps() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let m = meeting(&app, &f.chair.token, &f.wg, 7).await;
    let path = format!("/api/v1/meetings/{m}/agenda-items");
    let adds = (0..6).map(|i| {
        let (app, path, token) = (&app, &path, &f.chair.token);
        async move {
            app.post(
                path,
                token,
                &json!({"title": format!("Item {i}"), "position": 1}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(adds).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(titles(&app, &f.a.token, &m).await.len(), 6);
}
