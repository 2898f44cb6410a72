//! Bodies and their seats: the secretariat keeps the bodies; chairs, co-chairs and secretaries
//! manage their own body's members (and no other's); observers' people only observe; seats are
//! history, never deleted; where a person sits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn days_ago(n: u64) -> String {
    (today() - chrono::Days::new(n)).to_string()
}

/// Creates a body (as `token`), asserting 201; returns it.
async fn add_body(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post("/api/v1/bodies", token, &body).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn working_group(app: &TestApp, admin: &str, name: &str) -> String {
    id_of(&add_body(app, admin, json!({"kind": "working_group", "name": name})).await)
}

/// Seats a person (as `token`), asserting 201; returns the seat.
async fn seat(app: &TestApp, token: &str, body_id: &str, body: Value) -> Value {
    let res = app
        .post(&format!("/api/v1/bodies/{body_id}/members"), token, &body)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

fn seat_path(s: &Value) -> String {
    format!(
        "/api/v1/bodies/{}/members/{}",
        s["body_id"].as_str().unwrap(),
        id_of(s)
    )
}

#[tokio::test]
async fn the_secretariat_creates_edits_and_dissolves_bodies() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "board", "name": " The Board ", "short_name": "Board",
                    "mandate": "Steers the consortium.", "started_on": "2020-12-01"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let board: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/bodies/{}", id_of(&board)));
    assert_eq!(board["name"], "The Board");
    assert_eq!(board["status"], "active");
    assert_eq!(board["quorum_percent"], 50);
    assert_eq!(board["majority"], "simple");
    assert_eq!(board["member_count"], 0);
    assert_eq!(board["my_roles"], json!([]));
    assert_eq!(app.get_ok(&location, &admin).await, board);

    // Names are unique, case-insensitively; the rules are checked.
    let res = app
        .post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "other", "name": "the board"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = app
        .post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "other", "name": "Quorate", "quorum_percent": 101}),
        )
        .await;
    assert_field_error(res, "quorum_percent", "out_of_range").await;
    let res = app
        .post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "other", "name": "Backwards", "started_on": "2021-01-01",
                    "ended_on": "2020-01-01"}),
        )
        .await;
    assert_field_error(res, "ended_on", "before_start").await;

    // Lists: by name, filtered, paged.
    let ga = add_body(
        &app,
        &admin,
        json!({"kind": "general_assembly", "name": "General Assembly", "majority": "two_thirds",
               "quorum_percent": 30}),
    )
    .await;
    assert_eq!(ga["majority"], "two_thirds");
    working_group(&app, &admin, "Working group 1: advanced diagnostics").await;
    let all = names_of(&app.list_items("/api/v1/bodies", &admin).await);
    assert_eq!(
        all,
        [
            "General Assembly",
            "The Board",
            "Working group 1: advanced diagnostics"
        ]
    );
    let wgs = app
        .list_items("/api/v1/bodies?kind=working_group", &admin)
        .await;
    assert_eq!(names_of(&wgs), ["Working group 1: advanced diagnostics"]);
    let found = app.list_items("/api/v1/bodies?q=ASSEMB", &admin).await;
    assert_eq!(names_of(&found), ["General Assembly"]);
    let first = app.get_ok("/api/v1/bodies?limit=2", &admin).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .list_items(&format!("/api/v1/bodies?limit=2&cursor={cursor}"), &admin)
        .await;
    assert_eq!(names_of(&rest), ["Working group 1: advanced diagnostics"]);

    // PATCH needs If-Match; nothing changed keeps the version.
    let res = app
        .patch(&location, &admin, None, &json!({"mandate": "x"}))
        .await;
    assert_eq!(res.status().as_u16(), 428);
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"1\""),
            &json!({"name": "The Board"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"1\"");
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"1\""),
            &json!({"mandate": "Steers CONNECT.", "quorum_percent": 60}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["quorum_percent"], 60);
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"1\""),
            &json!({"mandate": "Stale"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 412);

    // Dissolving ends it today unless a day is given; a dissolved body takes no new seats.
    let res = app
        .patch(
            &location,
            &admin,
            Some("\"2\""),
            &json!({"status": "dissolved"}),
        )
        .await;
    let dissolved: Value = res.json().await.unwrap();
    assert_eq!(dissolved["status"], "dissolved");
    assert_eq!(dissolved["ended_on"], today().to_string());
    let person = app
        .create_contact(&admin, None, "Independent Chair", "chair@board.test")
        .await;
    let res = app
        .post(
            &format!("{location}/members"),
            &admin,
            &json!({"person_id": id_of(&person), "role": "chair"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let active = app.list_items("/api/v1/bodies?status=active", &admin).await;
    assert_eq!(names_of(&active).len(), 2);

    let created = app
        .audit_events(&admin, &format!("record_id={}", id_of(&board)))
        .await;
    let actions: Vec<&str> = created
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["body.updated", "body.updated", "body.created"]);
}

#[tokio::test]
async fn members_of_the_consortium_see_bodies_others_do_not_and_only_admins_edit_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let board = add_body(&app, &admin, json!({"kind": "board", "name": "Board"})).await;
    let path = format!("/api/v1/bodies/{}", id_of(&board));
    let partner = app.rep(&admin, "Alfa", "partner").await;
    let observer = app.rep(&admin, "Helsedir", "observer").await;
    let applicant = app.rep(&admin, "Papa", "applicant").await;

    for rep in [&partner, &observer] {
        assert_eq!(
            names_of(&app.list_items("/api/v1/bodies", &rep.token).await),
            ["Board"]
        );
        assert_eq!(app.get_ok(&path, &rep.token).await["name"], "Board");
        let res = app
            .post(
                "/api/v1/bodies",
                &rep.token,
                &json!({"kind": "other", "name": "Mine"}),
            )
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .patch(
                &path,
                &rep.token,
                Some("\"1\""),
                &json!({"mandate": "Mine"}),
            )
            .await;
        assert_problem(res, 403, "forbidden").await;
    }
    assert_problem(
        app.get("/api/v1/bodies", &applicant.token).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get(&path, &applicant.token).await, 404, "not-found").await;

    // An API token without bodies:write reads, and is refused writes by its scope.
    let (_, token) = app.create_api_token(&admin, &["bodies:read"]).await;
    assert_eq!(app.get(&path, &token).await.status(), StatusCode::OK);
    let res = app
        .post(
            "/api/v1/bodies",
            &token,
            &json!({"kind": "other", "name": "By token"}),
        )
        .await;
    let problem = assert_problem(res, 403, "insufficient-scope").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("bodies:write"),
        "{problem}"
    );
    let (_, token) = app.create_api_token(&admin, &["organisations:read"]).await;
    assert_problem(
        app.get("/api/v1/bodies", &token).await,
        403,
        "insufficient-scope",
    )
    .await;
}

#[tokio::test]
async fn seats_follow_the_rules_and_are_kept_as_history() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "Working group 2: clinical trials").await;
    let members = format!("/api/v1/bodies/{wg}/members");
    let partner = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    app.set_status(&admin, &partner, "partner").await;
    let observer = id_of(&app.create_org(&admin, "Helsedir", "other").await);
    app.set_status(&admin, &observer, "observer").await;
    let kari = id_of(
        &app.create_contact(&admin, Some(&partner), "Kari", "kari@alfa.test")
            .await,
    );
    let ola = id_of(
        &app.create_contact(&admin, Some(&partner), "Ola", "ola@alfa.test")
            .await,
    );
    let olga = id_of(
        &app.create_contact(&admin, Some(&observer), "Olga", "olga@helsedir.test")
            .await,
    );

    let res = app
        .post(
            &members,
            &admin,
            &json!({"person_id": kari, "role": "member", "from_date": "2021-02-01"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let kari_seat: Value = res.json().await.unwrap();
    assert_eq!(location, seat_path(&kari_seat));
    assert_eq!(kari_seat["person_name"], "Kari");
    assert_eq!(kari_seat["organisation_id"], partner);
    assert_eq!(kari_seat["organisation_name"], "Alfa");
    assert_eq!(kari_seat["role"], "member");
    assert_eq!(kari_seat["current"], true);
    assert_eq!(kari_seat["votes"], true);
    assert_eq!(app.get_ok(&location, &admin).await, kari_seat);

    // An observer organisation's people only observe, and observers never vote.
    let res = app
        .post(
            &members,
            &admin,
            &json!({"person_id": olga, "role": "member"}),
        )
        .await;
    assert_field_error(res, "role", "observer_only").await;
    let olga_seat = seat(
        &app,
        &admin,
        &wg,
        json!({"person_id": olga, "role": "observer"}),
    )
    .await;
    assert_eq!(olga_seat["from_date"], today().to_string());
    assert_eq!(olga_seat["votes"], false);
    let res = app
        .patch(
            &seat_path(&olga_seat),
            &admin,
            Some("\"1\""),
            &json!({"role": "chair"}),
        )
        .await;
    assert_field_error(res, "role", "observer_only").await;

    // The person must exist; the dates run forwards; one seat at a time per person.
    let res = app
        .post(
            &members,
            &admin,
            &json!({"person_id": uuid::Uuid::now_v7().to_string(), "role": "member"}),
        )
        .await;
    assert_field_error(res, "person_id", "not_found").await;
    let res = app
        .post(
            &members,
            &admin,
            &json!({"person_id": ola, "role": "member", "from_date": "2021-02-01",
                    "to_date": "2021-01-01"}),
        )
        .await;
    assert_field_error(res, "to_date", "before_start").await;
    let res = app
        .post(
            &members,
            &admin,
            &json!({"person_id": kari, "role": "secretary", "from_date": "2024-01-01",
                    "to_date": "2024-12-31"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // Ola's past seat, then his current one (no overlap).
    let past = seat(
        &app,
        &admin,
        &wg,
        json!({"person_id": ola, "role": "secretary", "from_date": "2021-02-01",
               "to_date": "2022-12-31"}),
    )
    .await;
    assert_eq!(past["current"], false);
    assert_eq!(past["votes"], false);
    let ola_seat = seat(
        &app,
        &admin,
        &wg,
        json!({"person_id": ola, "role": "member", "from_date": "2023-01-01"}),
    )
    .await;
    // Making the past seat run on would overlap the current one.
    let res = app
        .patch(
            &seat_path(&past),
            &admin,
            Some("\"1\""),
            &json!({"to_date": null}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;

    // Lists: seats in force today by default, by first day.
    let current = app.list_items(&members, &admin).await;
    let names: Vec<&str> = current
        .iter()
        .map(|s| s["person_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kari", "Ola", "Olga"]);
    let all = app
        .list_items(&format!("{members}?current=false"), &admin)
        .await;
    assert_eq!(all.len(), 4);
    let observers = app
        .list_items(&format!("{members}?role=observer"), &admin)
        .await;
    assert_eq!(observers.len(), 1);
    let olas = app
        .list_items(&format!("{members}?current=false&person_id={ola}"), &admin)
        .await;
    assert_eq!(olas.len(), 2);
    let page = app.get_ok(&format!("{members}?limit=2"), &admin).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .list_items(&format!("{members}?limit=2&cursor={cursor}"), &admin)
        .await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["person_name"], "Olga");
    let body = app.get_ok(&format!("/api/v1/bodies/{wg}"), &admin).await;
    assert_eq!(body["member_count"], 3);

    // Ending a seat keeps it: gone from today's list, there with its last day in the history.
    let path = seat_path(&ola_seat);
    let res = app
        .patch(&path, &admin, None, &json!({"to_date": days_ago(1)}))
        .await;
    assert_eq!(res.status().as_u16(), 428);
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"to_date": days_ago(1)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ended: Value = res.json().await.unwrap();
    assert_eq!(ended["version"], 2);
    assert_eq!(ended["current"], false);
    assert_eq!(ended["to_date"], days_ago(1));
    let current = app.list_items(&members, &admin).await;
    assert_eq!(current.len(), 2);
    let history = app
        .list_items(&format!("{members}?current=false&person_id={ola}"), &admin)
        .await;
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|s| s["current"] == false));
    // A role change, then nothing changed: same version.
    let res = app
        .patch(
            &seat_path(&kari_seat),
            &admin,
            Some("\"1\""),
            &json!({"role": "chair"}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "chair");
    let res = app
        .patch(
            &seat_path(&kari_seat),
            &admin,
            Some("\"2\""),
            &json!({"role": "chair"}),
        )
        .await;
    assert_eq!(etag(&res), "\"2\"");

    // Every change has its audit event.
    let events = app
        .audit_events(&admin, &format!("record_id={}", id_of(&ola_seat)))
        .await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["body_member.updated", "body_member.created"]);
    let seated = app.audit_events(&admin, "action=body_member.created").await;
    assert_eq!(seated.len(), 4);

    // A seat of another body is not this body's.
    let other = working_group(&app, &admin, "Working group 3: funding").await;
    let res = app
        .get(
            &format!("/api/v1/bodies/{other}/members/{}", id_of(&kari_seat)),
            &admin,
        )
        .await;
    assert_problem(res, 404, "not-found").await;
}

#[tokio::test]
async fn a_working_groups_chair_manages_their_group_and_not_another() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg1 = working_group(&app, &admin, "Working group 1: advanced diagnostics").await;
    let wg2 = working_group(&app, &admin, "Working group 2: clinical trials").await;
    let chair = app.rep(&admin, "Alfa", "partner").await;
    let org = chair.organisation_id.clone();
    let me = id_of(
        &app.create_contact(&admin, Some(&org), "Kari Chair", "kari@alfa.test")
            .await,
    );
    app.link_person(&admin, &chair.user_id, &me).await;
    seat(
        &app,
        &admin,
        &wg1,
        json!({"person_id": me, "role": "chair"}),
    )
    .await;
    let colleague = id_of(
        &app.create_contact(&admin, Some(&org), "Ola", "ola@alfa.test")
            .await,
    );
    let other = id_of(
        &app.create_contact(&admin, Some(&org), "Per", "per@alfa.test")
            .await,
    );
    let theirs = seat(
        &app,
        &admin,
        &wg2,
        json!({"person_id": other, "role": "member"}),
    )
    .await;

    // Their own group: they see it, its members, and manage them.
    let body = app
        .get_ok(&format!("/api/v1/bodies/{wg1}"), &chair.token)
        .await;
    assert_eq!(body["my_roles"], json!(["chair"]));
    let added = seat(
        &app,
        &chair.token,
        &wg1,
        json!({"person_id": colleague, "role": "member"}),
    )
    .await;
    let res = app
        .patch(
            &seat_path(&added),
            &chair.token,
            Some("\"1\""),
            &json!({"role": "secretary"}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(
        app.list_items(&format!("/api/v1/bodies/{wg1}/members"), &chair.token)
            .await
            .len(),
        2
    );
    assert_eq!(
        app.get(&seat_path(&added), &chair.token).await.status(),
        StatusCode::OK
    );

    // Another group: its members are not theirs to see or manage.
    let body = app
        .get_ok(&format!("/api/v1/bodies/{wg2}"), &chair.token)
        .await;
    assert_eq!(body["my_roles"], json!([]));
    assert_eq!(body["member_count"], 1);
    assert_problem(
        app.get(&format!("/api/v1/bodies/{wg2}/members"), &chair.token)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get(&seat_path(&theirs), &chair.token).await,
        403,
        "forbidden",
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/bodies/{wg2}/members"),
            &chair.token,
            &json!({"person_id": colleague, "role": "member"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .patch(
            &seat_path(&theirs),
            &chair.token,
            Some("\"1\""),
            &json!({"to_date": today().to_string()}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;

    // A plain member sees the members but does not manage them.
    let member = app
        .create_user(
            &admin,
            "ola@alfa.test",
            "partner_representative",
            Some(&org),
        )
        .await;
    app.link_person(&admin, &id_of(&member), &colleague).await;
    let ola = app.login("ola@alfa.test", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Ola is the secretary now; make him a member again.
    let res = app
        .patch(
            &seat_path(&added),
            &admin,
            Some("\"2\""),
            &json!({"role": "member"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.list_items(&format!("/api/v1/bodies/{wg1}/members"), &ola)
            .await
            .len(),
        2
    );
    let res = app
        .post(
            &format!("/api/v1/bodies/{wg1}/members"),
            &ola,
            &json!({"person_id": other, "role": "member"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;

    // The chair's changes are in the trail under their account.
    let events = app
        .audit_events(&admin, &format!("record_id={}", id_of(&added)))
        .await;
    assert_eq!(events.len(), 3);
    assert!(
        events
            .iter()
            .any(|e| e["actor_id"] == chair.user_id && e["action"] == "body_member.created"),
        "{events:?}"
    );
}

#[tokio::test]
async fn where_a_person_sits_and_where_i_sit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let board = id_of(&add_body(&app, &admin, json!({"kind": "board", "name": "Board"})).await);
    let wg = working_group(&app, &admin, "Working group 4: data").await;
    let rep = app.rep(&admin, "Alfa", "partner").await;
    let kari = id_of(
        &app.create_contact(&admin, Some(&rep.organisation_id), "Kari", "kari@alfa.test")
            .await,
    );
    seat(
        &app,
        &admin,
        &wg,
        json!({"person_id": kari, "role": "secretary", "from_date": "2021-02-01",
               "to_date": "2022-12-31"}),
    )
    .await;
    seat(
        &app,
        &admin,
        &board,
        json!({"person_id": kari, "role": "member", "from_date": "2023-01-01"}),
    )
    .await;

    // Nobody linked yet: my bodies are none.
    let mine = app.get_ok("/api/v1/me/bodies", &rep.token).await;
    assert_eq!(mine["items"], json!([]));
    let mine = app.get_ok("/api/v1/me/bodies", &admin).await;
    assert_eq!(mine["items"], json!([]));

    let path = format!("/api/v1/people/{kari}/bodies");
    let seats = app.get_ok(&path, &admin).await["items"]
        .as_array()
        .unwrap()
        .clone();
    let summary: Vec<(&str, &str, &str, bool)> = seats
        .iter()
        .map(|s| {
            (
                s["body_name"].as_str().unwrap(),
                s["body_kind"].as_str().unwrap(),
                s["role"].as_str().unwrap(),
                s["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Board", "board", "member", true),
            ("Working group 4: data", "working_group", "secretary", false)
        ]
    );
    assert_eq!(seats[1]["to_date"], "2022-12-31");

    // Whoever sees the person sees where they sit; whoever does not gets 404.
    let other = app.rep(&admin, "Bravo", "partner").await;
    assert_eq!(app.get_ok(&path, &other.token).await["items"], json!(seats));
    let applicant = app.rep(&admin, "Papa", "applicant").await;
    assert_problem(app.get(&path, &applicant.token).await, 404, "not-found").await;
    let missing = format!("/api/v1/people/{}/bodies", uuid::Uuid::now_v7());
    assert_problem(app.get(&missing, &admin).await, 404, "not-found").await;

    // Linked: my bodies are Kari's.
    app.link_person(&admin, &rep.user_id, &kari).await;
    let mine = app.get_ok("/api/v1/me/bodies", &rep.token).await;
    assert_eq!(mine["items"], json!(seats));
}

#[tokio::test]
async fn a_suspended_organisations_people_stop_voting_with_no_other_change() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let board = id_of(&add_body(&app, &admin, json!({"kind": "board", "name": "Board"})).await);
    let org = id_of(&app.create_org(&admin, "Alfa", "pharma").await);
    app.set_status(&admin, &org, "partner").await;
    let kari = id_of(
        &app.create_contact(&admin, Some(&org), "Kari", "kari@alfa.test")
            .await,
    );
    let independent = id_of(
        &app.create_contact(&admin, None, "Independent", "chair@board.test")
            .await,
    );
    let kari_seat = seat(
        &app,
        &admin,
        &board,
        json!({"person_id": kari, "role": "member"}),
    )
    .await;
    let chair = seat(
        &app,
        &admin,
        &board,
        json!({"person_id": independent, "role": "chair"}),
    )
    .await;
    assert_eq!(kari_seat["votes"], true);
    assert_eq!(chair["votes"], true, "no organisation: votes");

    app.change_status(&admin, &org, "suspended", &today().to_string())
        .await;
    let now = app.get_ok(&seat_path(&kari_seat), &admin).await;
    assert_eq!(now["votes"], false);
    assert_eq!(now["current"], true);
    assert_eq!(now["version"], 1, "the seat itself is unchanged");
    assert_eq!(
        app.list_items(&format!("/api/v1/bodies/{board}/members"), &admin)
            .await
            .len(),
        2
    );
    app.change_status(&admin, &org, "partner", &today().to_string())
        .await;
    assert_eq!(
        app.get_ok(&seat_path(&kari_seat), &admin).await["votes"],
        true
    );
}

#[tokio::test]
async fn one_person_seated_by_simultaneous_requests_gets_one_seat_and_409s() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let wg = working_group(&app, &admin, "Working group 1").await;
    let person = id_of(
        &app.create_contact(&admin, None, "Kari", "kari@connect.test")
            .await,
    );
    let path = format!("/api/v1/bodies/{wg}/members");
    let body = json!({"person_id": person, "role": "member"});
    let calls = (0..8).map(|_| app.post(&path, &admin, &body));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "the unique index answers 409 too: {statuses:?}"
    );
    let seats = app
        .list_items(&format!("{path}?current=false"), &admin)
        .await;
    assert_eq!(seats.len(), 1);
}
