//! Open events through HTTP: public registration, the waiting list moving up when a place is
//! freed (by the e-mailed cancel link or a raised capacity), duplicates, forged links, the
//! secretariat's registrant list, and exactly-capacity under concurrent registrations.

use connect::schema::notifications as n;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::*;

async fn open_event(app: &TestApp, admin: &str, capacity: i64) -> Value {
    expect(
        app.post(
            "/api/v1/meetings",
            admin,
            &json!({"kind": "open_event", "title": "Open day", "start": "2027-08-12T10:00:00", "end": "2027-08-12T12:00:00", "capacity": capacity}),
        )
        .await,
        201,
    )
    .await
}

async fn register(app: &TestApp, event: &str, name: &str, email: &str) -> Value {
    expect(
        app.post_anon(
            &format!("/api/v1/events/{event}/registrations"),
            &json!({"name": name, "email": email}),
        )
        .await,
        201,
    )
    .await
}

/// (status, body text) of the `event_registration` mails sent to `to`, in order.
fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let mut conn = app.db_conn();
    n::table
        .filter(n::kind.eq("event_registration"))
        .filter(n::recipient_email.eq(to))
        .order(n::id.asc())
        .select(n::body_text)
        .load::<String>(&mut conn)
        .unwrap()
}

fn cancel_token(text: &str) -> String {
    let start = text.find("/events/cancel?token=").expect("a cancel link") + 21;
    text[start..]
        .split(|c: char| c.is_whitespace() || c == '&' || c == '>' || c == ')')
        .next()
        .unwrap()
        .to_owned()
}

async fn registrant_status(app: &TestApp, admin: &str, event: &str, email: &str) -> String {
    let list = expect(
        app.get(&format!("/api/v1/meetings/{event}/registrations"), admin)
            .await,
        200,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("{email} in {list}"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_waiting_list_moves_up_by_cancel_link_and_capacity_raise() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let event = id_of(&open_event(&app, &admin, 1).await);

    let a = register(&app, &event, "Ada", "ada@example.org").await;
    assert_eq!(a["status"], "confirmed");
    let b = register(&app, &event, "Bo", "bo@example.org").await;
    assert_eq!(b["status"], "waitlisted");
    assert_eq!(b["position"], 1);
    let c = register(&app, &event, "Cy", "cy@example.org").await;
    assert_eq!(c["status"], "waitlisted");
    assert_eq!(c["position"], 2);

    // The public view counts places and the waiting list.
    let public = expect(app.get_anon(&format!("/api/v1/events/{event}")).await, 200).await;
    assert_eq!(public["places_left"], 0, "{public}");
    assert_eq!(public["waiting_list"], 2, "{public}");

    // Same address twice: 409 with its own problem type.
    assert_problem(
        app.post_anon(
            &format!("/api/v1/events/{event}/registrations"),
            &json!({"name": "Ada again", "email": "ada@example.org"}),
        )
        .await,
        409,
        "already-registered",
    )
    .await;

    // A forged link is 404; a signed access token is no cancel link either.
    assert_problem(
        app.post_anon(
            "/api/v1/event-registrations/cancel",
            &json!({"token": "eyJhbGciOiJIUzI1NiJ9.e30.forged"}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        app.post_anon(
            "/api/v1/event-registrations/cancel",
            &json!({"token": admin}),
        )
        .await
        .status(),
        404
    );

    // Ada cancels through the e-mailed link: Bo moves up and is told so. The link first says
    // what it would cancel (what the page it opens shows).
    let mails = mails_to(&app, "ada@example.org");
    assert_eq!(mails.len(), 1, "{mails:?}");
    let token = cancel_token(&mails[0]);
    let found = expect(
        app.get_anon(&format!("/api/v1/event-registrations/cancel/{token}"))
            .await,
        200,
    )
    .await;
    assert_eq!(found["name"], "Ada");
    assert_eq!(found["registration"]["status"], "confirmed");
    assert_eq!(found["event"]["id"], event.as_str());
    assert_problem(
        app.get_anon("/api/v1/event-registrations/cancel/forged.token")
            .await,
        404,
        "not-found",
    )
    .await;
    // The page the link opens: in the registration's language, or the one asked for.
    let res = app.get_anon(&format!("/events/cancel?token={token}")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let lang = found["event"]["language"].as_str().unwrap().to_owned();
    assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{html}");
    let html = app
        .get_anon(&format!("/events/cancel?token={token}&lang=nb"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Meld meg av"), "{html}");
    let cancelled = expect(
        app.post_anon(
            "/api/v1/event-registrations/cancel",
            &json!({"token": token}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_problem(
        app.post_anon(
            "/api/v1/event-registrations/cancel",
            &json!({"token": token}),
        )
        .await,
        409,
        "invalid-transition",
    )
    .await;
    assert_eq!(
        registrant_status(&app, &admin, &event, "bo@example.org").await,
        "confirmed"
    );
    assert_eq!(mails_to(&app, "bo@example.org").len(), 2);
    assert_eq!(
        registrant_status(&app, &admin, &event, "cy@example.org").await,
        "waitlisted"
    );

    // Raising the capacity moves Cy up at once.
    let res = app.get(&format!("/api/v1/meetings/{event}"), &admin).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let updated = expect(
        app.patch(
            &format!("/api/v1/meetings/{event}"),
            &admin,
            Some(&etag),
            &json!({"capacity": 3}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(updated["registered_count"], 2, "{updated}");
    assert_eq!(
        registrant_status(&app, &admin, &event, "cy@example.org").await,
        "confirmed"
    );
    assert_eq!(mails_to(&app, "cy@example.org").len(), 2);
}

#[tokio::test]
async fn only_the_secretariat_sees_registrants_also_as_csv() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let event = id_of(&open_event(&app, &admin, 5).await);
    register(&app, &event, "Ada Lovelace", "ada@example.org").await;
    let member = app.member(&admin, "Alpha Pharma", "partner").await;

    let path = format!("/api/v1/meetings/{event}/registrations");
    let status = app.get(&path, &member.token).await.status().as_u16();
    assert!(status == 403 || status == 404, "member got {status}");
    assert_eq!(app.get_anon(&path).await.status(), 401);

    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&admin)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains("Ada Lovelace") && csv.contains("ada@example.org"),
        "{csv}"
    );
}

#[tokio::test]
async fn concurrent_registrations_fill_exactly_the_capacity() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let event = id_of(&open_event(&app, &admin, 5).await);
    let path = format!("/api/v1/events/{event}/registrations");
    let calls = (0..20).map(|i| {
        let body = json!({"name": format!("Person {i}"), "email": format!("p{i}@example.org")});
        let path = path.clone();
        let app = &app;
        async move {
            let res = app.post_anon(&path, &body).await;
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap();
            (status, v)
        }
    });
    let results = futures_util::future::join_all(calls).await;
    let mut confirmed = 0;
    for (status, v) in &results {
        assert_eq!(*status, 201, "{v}");
        if v["status"] == "confirmed" {
            confirmed += 1;
        }
    }
    assert_eq!(confirmed, 5);
    let meeting = expect(
        app.get(&format!("/api/v1/meetings/{event}"), &admin).await,
        200,
    )
    .await;
    assert_eq!(meeting["registered_count"], 5, "{meeting}");
}

/// Every signed-link endpoint (meeting answers, poll answers, event registrations) counts its
/// refused links against the caller's address, together: guessing is throttled alike wherever
/// it is tried.
#[tokio::test]
async fn bad_links_of_every_kind_count_together_and_are_throttled() {
    let app = spawn_app().await;
    let paths = [
        "/api/v1/meeting-answers/guessed",
        "/api/v1/poll-answers/guessed",
        "/api/v1/event-registrations/cancel/guessed",
    ];
    for i in 0..30 {
        let res = app.get_anon(&format!("{}{i}", paths[i % 3])).await;
        assert_problem(res, 404, "not-found").await;
    }
    for path in paths {
        let res = app.get_anon(path).await;
        assert_problem(res, 429, "too-many-requests").await;
    }
    let res = app
        .post_anon(
            "/api/v1/meeting-answers",
            &json!({"token": "guessed", "response": "accepted"}),
        )
        .await;
    assert_problem(res, 429, "too-many-requests").await;
}
