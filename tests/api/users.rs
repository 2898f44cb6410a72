//! Accounts (admin-only `/users`): creation, listing with filters and pagination, versioned
//! updates, deactivation and reactivation, and the audit trail they leave.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id_of).collect()
}

async fn list(app: &TestApp, admin: &str, query: &str) -> Value {
    let res = app.get(&format!("/api/v1/users?{query}"), admin).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{query}: {}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

async fn deactivate(app: &TestApp, admin: &str, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/users/{id}/deactivate")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
}

async fn reactivate(app: &TestApp, admin: &str, id: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/users/{id}/reactivate")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
}

async fn my_id(app: &TestApp, token: &str) -> String {
    app.me(token).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn admin_creates_a_representative_bound_to_one_organisation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche Norge", "pharma").await;
    let org_id = id_of(&org);
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"email": "Kari.Nordmann@Roche.com", "display_name": "Kari Nordmann",
                    "role": "partner_representative", "organisation_id": org_id,
                    "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(etag(&res), "\"1\"");
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let user: Value = res.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/users/{}", id_of(&user)));
    assert_eq!(
        user["email"], "kari.nordmann@roche.com",
        "e-mail is normalised"
    );
    assert_eq!(user["role"], "partner_representative");
    assert_eq!(user["organisation_id"], org_id.as_str());
    assert_eq!(user["active"], true);
    assert_eq!(user["version"], 1);
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let res = app.get(&location, &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"1\"");
    let fetched: Value = res.json().await.unwrap();
    assert_eq!(fetched, user);
    // The new account logs in.
    app.login("kari.nordmann@roche.com", USER_PASSWORD).await;
}

#[tokio::test]
async fn representatives_need_an_organisation_and_admins_have_none() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche Norge", "pharma").await;
    let cases = [
        (json!({"role": "partner_representative"}), "required"),
        (json!({"role": "observer_representative"}), "required"),
        (
            json!({"role": "admin", "organisation_id": id_of(&org)}),
            "not_applicable",
        ),
        (
            json!({"role": "partner_representative", "organisation_id": "01937c4e-0000-7000-8000-0000000000aa"}),
            "not_found",
        ),
    ];
    for (extra, code) in cases {
        let mut body = json!({"email": "someone@connect.test", "display_name": "Someone",
                              "password": USER_PASSWORD});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post("/api/v1/users", &admin, &body).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "organisation_id", "{body}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}: {problem}");
    }
    assert_eq!(
        list(&app, &admin, "").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_new_account_needs_a_valid_email_and_a_strong_password() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"email": "not-an-email", "display_name": "", "role": "admin",
                    "password": "short"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["display_name", "email", "password"], "{problem}");
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"email": "someone@connect.test", "display_name": "Someone", "role": "admin",
                    "password": "password1234"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["code"], "too_common", "{problem}");
}

#[tokio::test]
async fn a_duplicate_email_is_a_409_conflict() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    app.create_user(&admin, "second.admin@connect.test", "admin", None)
        .await;
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"email": "Second.Admin@CONNECT.test", "display_name": "Again",
                    "role": "admin", "password": USER_PASSWORD}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
}

#[tokio::test]
async fn users_endpoints_are_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let res = app.get("/api/v1/users", &rep.token).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .get(&format!("/api/v1/users/{}", rep.user_id), &rep.token)
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            "/api/v1/users",
            &rep.token,
            &json!({"email": "x@roche.test", "display_name": "X", "role": "admin",
                    "password": USER_PASSWORD}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .patch(
            &format!("/api/v1/users/{}", rep.user_id),
            &rep.token,
            Some("\"1\""),
            &json!({"role": "admin"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let admin_id = my_id(&app, &admin).await;
    let res = deactivate(&app, &rep.token, &admin_id).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.get_anon("/api/v1/users").await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn an_unknown_user_is_404() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .get("/api/v1/users/01937c4e-0000-7000-8000-0000000000aa", &admin)
        .await;
    assert_problem(res, 404, "not-found").await;
    let res = deactivate(&app, &admin, "01937c4e-0000-7000-8000-0000000000aa").await;
    assert_problem(res, 404, "not-found").await;
}

#[tokio::test]
async fn list_users_filters_by_role_organisation_active_and_text() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let roche = id_of(&app.create_org(&admin, "Roche Norge", "pharma").await);
    let lilly = id_of(&app.create_org(&admin, "Lilly Norge", "pharma").await);
    let kari = app
        .create_user(
            &admin,
            "kari@roche.test",
            "partner_representative",
            Some(&roche),
        )
        .await;
    let ola = app
        .create_user(
            &admin,
            "ola@lilly.test",
            "observer_representative",
            Some(&lilly),
        )
        .await;
    let admin_id = my_id(&app, &admin).await;
    let res = deactivate(&app, &admin, &id_of(&ola)).await;
    assert_eq!(res.status(), StatusCode::OK);

    let page = list(&app, &admin, "role=partner_representative").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [id_of(&kari)]);
    let page = list(&app, &admin, "role=admin").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [admin_id]);
    let page = list(&app, &admin, &format!("organisation_id={lilly}")).await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [id_of(&ola)]);
    let page = list(&app, &admin, "active=false").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [id_of(&ola)]);
    let page = list(&app, &admin, "active=true").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let page = list(&app, &admin, "q=KARI").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [id_of(&kari)]);
    let page = list(&app, &admin, "q=lilly&active=true").await;
    assert!(page["items"].as_array().unwrap().is_empty());
    // Text search takes `%` and `_` literally.
    let page = list(&app, &admin, "q=%25").await;
    assert!(page["items"].as_array().unwrap().is_empty());
    let page = list(&app, &admin, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn list_users_rejects_bad_filter_values() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("role=wizard", "role"),
        ("active=maybe", "active"),
        ("limit=ten", "limit"),
        ("colour=red", "colour"),
    ] {
        let res = app.get(&format!("/api/v1/users?{query}"), &admin).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let res = app
        .get("/api/v1/users?organisation_id=not-a-uuid", &admin)
        .await;
    assert_field_error(res, "organisation_id", "invalid_format").await;
}

#[tokio::test]
async fn list_users_paginates_with_a_cursor() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut expected = vec![my_id(&app, &admin).await];
    for n in 0..4 {
        let user = app
            .create_user(&admin, &format!("admin{n}@connect.test"), "admin", None)
            .await;
        expected.push(id_of(&user));
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            None => "limit=2".to_owned(),
            Some(c) => format!("limit=2&cursor={c}"),
        };
        let page = list(&app, &admin, &query).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(ids(items));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every user once, oldest first");
    // The default page holds them all.
    let page = list(&app, &admin, "").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), expected);
}

#[tokio::test]
async fn list_limit_is_bounded_from_1_to_200() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for limit in ["0", "201", "-1"] {
        let res = app
            .get(&format!("/api/v1/users?limit={limit}"), &admin)
            .await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "limit");
        assert_eq!(problem["errors"][0]["code"], "out_of_range");
    }
    list(&app, &admin, "limit=200").await;
    list(&app, &admin, "limit=1").await;
    let res = app.get("/api/v1/users?cursor=garbage", &admin).await;
    assert_problem(res, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn patch_user_needs_if_match_428_when_missing_and_412_when_stale() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "second@connect.test", "admin", None)
        .await;
    let path = format!("/api/v1/users/{}", id_of(&user));
    let change = json!({"display_name": "Renamed"});

    let res = app.patch(&path, &admin, None, &change).await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app.patch(&path, &admin, Some("\"2\""), &change).await;
    assert_problem(res, 412, "precondition-failed").await;
    let res = app.patch(&path, &admin, Some("W/\"1\""), &change).await;
    assert_problem(res, 412, "precondition-failed").await;
    // Nothing changed so far.
    let res = app.get(&path, &admin).await;
    assert_eq!(etag(&res), "\"1\"");

    let res = app.patch(&path, &admin, Some("\"1\""), &change).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["display_name"], "Renamed");
    assert_eq!(updated["version"], 2);
    // The old ETag is stale now.
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"display_name": "Again"}),
        )
        .await;
    assert_problem(res, 412, "precondition-failed").await;
}

#[tokio::test]
async fn changing_a_role_takes_effect_on_the_next_request() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    assert_eq!(app.get("/api/v1/users", &rep.token).await.status(), 403);

    let path = format!("/api/v1/users/{}", rep.user_id);
    let res = app
        .patch(&path, &admin, Some("\"1\""), &json!({"role": "admin"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["role"], "admin");
    assert_eq!(
        updated["organisation_id"],
        Value::Null,
        "an admin leaves the organisation"
    );
    // The same session now has admin rights.
    assert_eq!(app.get("/api/v1/users", &rep.token).await.status(), 200);
    assert_eq!(app.me(&rep.token).await["standing"], "admin");
}

#[tokio::test]
async fn a_representative_role_needs_an_organisation_on_update_too() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app
        .create_user(&admin, "second@connect.test", "admin", None)
        .await;
    let res = app
        .patch(
            &format!("/api/v1/users/{}", id_of(&user)),
            &admin,
            Some("\"1\""),
            &json!({"role": "partner_representative"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "organisation_id");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Roche Norge", "pharma").await);
    let admin_id = my_id(&app, &admin).await;
    let path = format!("/api/v1/users/{admin_id}");
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"role": "partner_representative", "organisation_id": org}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    assert_eq!(app.me(&admin).await["user"]["role"], "admin");

    // With a second admin, the first may step down.
    app.create_user(&admin, "second@connect.test", "admin", None)
        .await;
    let path = format!("/api/v1/users/{admin_id}");
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"role": "partner_representative", "organisation_id": org}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_cannot_deactivate_themselves_nor_the_last_admin() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = my_id(&app, &admin).await;
    let res = deactivate(&app, &admin, &admin_id).await;
    assert_problem(res, 409, "conflict").await;
    assert_eq!(app.me(&admin).await["user"]["active"], true);

    // Another admin may deactivate the first one, but then is the last and cannot leave.
    let second = app
        .create_user(&admin, "second@connect.test", "admin", None)
        .await;
    let second_token = app.login("second@connect.test", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = deactivate(&app, &second_token, &admin_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = deactivate(&app, &second_token, &id_of(&second)).await;
    assert_problem(res, 409, "conflict").await;
    let page = list(&app, &second_token, "role=admin&active=true").await;
    assert_eq!(ids(page["items"].as_array().unwrap()), [id_of(&second)]);
}

#[tokio::test]
async fn deactivation_ends_sessions_and_api_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let session = app.login(&rep.email, USER_PASSWORD).await;
    let (_, secret) = app
        .create_api_token(&rep.token, &["organisations:read"])
        .await;
    assert_eq!(app.get("/api/v1/me", &secret).await.status(), 200);

    let res = deactivate(&app, &admin, &rep.user_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["active"], false);
    assert!(user["deactivated_at"].is_string());

    let res = app.get("/api/v1/me", &rep.token).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.get("/api/v1/organisations", &secret).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .post_anon(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": session["refresh_token"]}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    // Logging in fails like a wrong password.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": rep.email, "password": USER_PASSWORD}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;

    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}&action=user.deactivated", rep.user_id),
        )
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["changes"]["sessions_ended"], 2, "{}", events[0]);
    assert_eq!(
        events[0]["changes"]["api_tokens_revoked"], 1,
        "{}",
        events[0]
    );
}

#[tokio::test]
async fn reactivation_restores_login_but_not_the_ended_sessions_and_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let (_, secret) = app
        .create_api_token(&rep.token, &["organisations:read"])
        .await;
    assert_eq!(deactivate(&app, &admin, &rep.user_id).await.status(), 200);

    let res = reactivate(&app, &admin, &rep.user_id).await;
    assert_eq!(res.status(), StatusCode::OK);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["active"], true);
    assert_eq!(user["deactivated_at"], Value::Null);

    // What deactivation ended stays ended.
    let res = app.get("/api/v1/me", &rep.token).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.get("/api/v1/me", &secret).await;
    assert_problem(res, 401, "unauthenticated").await;
    // A fresh login works.
    let pair = app.login(&rep.email, USER_PASSWORD).await;
    assert_eq!(
        app.get("/api/v1/me", pair["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn every_account_change_writes_an_audit_event() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = my_id(&app, &admin).await;
    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("X-Request-Id", "create-user-1")
        .json(
            &json!({"email": "second@connect.test", "display_name": "Second",
                      "role": "admin", "password": USER_PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    let id = id_of(&user);
    let path = format!("/api/v1/users/{id}");
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"display_name": "Renamed"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(deactivate(&app, &admin, &id).await.status(), 200);
    assert_eq!(reactivate(&app, &admin, &id).await.status(), 200);

    let events = app
        .audit_events(&admin, &format!("record_type=user&record_id={id}"))
        .await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.reactivated",
            "user.deactivated",
            "user.updated",
            "user.created"
        ],
        "newest first"
    );
    for e in &events {
        assert_eq!(e["actor_kind"], "user");
        assert_eq!(e["actor_id"], admin_id.as_str());
        assert_eq!(e["record_type"], "user");
        assert!(e["request_id"].is_string(), "{e}");
    }
    assert_eq!(
        events[1]["changes"]["active"],
        json!({"from": true, "to": false})
    );
    assert_eq!(
        events[2]["changes"],
        json!({"display_name": {"from": "Second", "to": "Renamed"}})
    );
    assert_eq!(events[3]["request_id"], "create-user-1");
    assert!(
        !events[3].to_string().contains(USER_PASSWORD),
        "no password in the audit"
    );
    // Failed attempts change nothing and write nothing.
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"display_name": "Stale"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let again = app
        .audit_events(&admin, &format!("record_type=user&record_id={id}"))
        .await;
    assert_eq!(again.len(), 4);
}

#[tokio::test]
async fn audit_events_are_for_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let res = app.get("/api/v1/audit-events", &rep.token).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.get_anon("/api/v1/audit-events").await;
    assert_problem(res, 401, "unauthenticated").await;
    let (_, reader) = app.create_api_token(&admin, &["audit:read"]).await;
    assert_eq!(app.get("/api/v1/audit-events", &reader).await.status(), 200);
}

#[tokio::test]
async fn audit_events_filter_by_record_actor_action_request_and_time() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = my_id(&app, &admin).await;
    let org = app.create_org(&admin, "Roche Norge", "pharma").await;
    let org_id = id_of(&org);
    app.set_status(&admin, &org_id, "partner").await;
    let res = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("X-Request-Id", "req-filter-test")
        .json(&json!({"email": "kari@roche.test", "display_name": "Kari",
                      "role": "partner_representative", "organisation_id": org_id,
                      "password": USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let kari_id = id_of(&res.json::<Value>().await.unwrap());
    let kari = app.login("kari@roche.test", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .patch(
            &format!("/api/v1/organisations/{org_id}"),
            &kari,
            Some("\"2\""),
            &json!({"short_name": "Roche"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let all = app.audit_events(&admin, "").await;
    assert!(all.len() >= 5, "{all:?}");

    let only = |events: &[Value]| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["record_id"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let by_type = app.audit_events(&admin, "record_type=organisation").await;
    assert_eq!(
        only(&by_type),
        [
            ("organisation.updated".to_owned(), org_id.clone()),
            ("membership.changed".to_owned(), org_id.clone()),
            ("organisation.created".to_owned(), org_id.clone())
        ]
    );
    let by_record = app
        .audit_events(&admin, &format!("record_id={kari_id}"))
        .await;
    assert_eq!(
        only(&by_record),
        [("user.created".to_owned(), kari_id.clone())]
    );
    let by_actor = app
        .audit_events(&admin, &format!("actor_id={kari_id}"))
        .await;
    assert_eq!(
        only(&by_actor),
        [("organisation.updated".to_owned(), org_id.clone())]
    );
    let by_admin = app
        .audit_events(&admin, &format!("actor_id={admin_id}"))
        .await;
    assert!(by_admin.iter().all(|e| e["actor_id"] == admin_id.as_str()));
    assert!(by_admin.len() >= 2);
    let by_action = app.audit_events(&admin, "action=user.created").await;
    assert!(by_action.iter().all(|e| e["action"] == "user.created"));
    assert!(by_action.iter().any(|e| e["record_id"] == kari_id.as_str()));
    let by_request = app.audit_events(&admin, "request_id=req-filter-test").await;
    assert_eq!(
        only(&by_request),
        [("user.created".to_owned(), kari_id.clone())]
    );

    // since (inclusive) and until (exclusive), with the event's own time.
    let at = by_request[0]["occurred_at"].as_str().unwrap();
    let at = at.replace('+', "%2B");
    let since = app
        .audit_events(&admin, &format!("since={at}&record_type=user"))
        .await;
    assert!(since.iter().any(|e| e["record_id"] == kari_id.as_str()));
    let until = app
        .audit_events(&admin, &format!("until={at}&record_id={kari_id}"))
        .await;
    assert!(until.is_empty(), "{until:?}");
    let later = app.audit_events(&admin, "since=2999-01-01T00:00:00Z").await;
    assert!(later.is_empty());
    let earlier = app.audit_events(&admin, "until=2000-01-01T00:00:00Z").await;
    assert!(earlier.is_empty());
    let res = app
        .get("/api/v1/audit-events?since=yesterday", &admin)
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "since", "{problem}");
}

#[tokio::test]
async fn audit_events_paginate_newest_first() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for n in 0..3 {
        app.create_org(&admin, &format!("Org {n}"), "pharma").await;
    }
    let res = app
        .get(
            "/api/v1/audit-events?record_type=organisation&limit=2",
            &admin,
        )
        .await;
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let res = app
        .get(
            &format!("/api/v1/audit-events?record_type=organisation&limit=2&cursor={cursor}"),
            &admin,
        )
        .await;
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_cursor"], Value::Null);
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
}
