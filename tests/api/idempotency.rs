//! `Idempotency-Key` on creating `POST`s: a retry replays the first response and creates nothing
//! twice; the key with another request is refused; keys belong to their caller.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn org_body(name: &str) -> Value {
    json!({"name": name, "kind": "pharma", "sector": "private"})
}

async fn org_names(app: &TestApp, admin: &str) -> Vec<String> {
    let res = app.get("/api/v1/organisations?limit=200", admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    names_of(page["items"].as_array().unwrap())
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_response_and_create_nothing_twice() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = org_body("Roche Norge");

    let first = app
        .post_idempotent("/api/v1/organisations", &admin, "create-roche", &body)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(
        header(&first, "idempotent-replayed").as_deref(),
        Some("false")
    );
    let (location, etag1) = (header(&first, "location"), header(&first, "etag"));
    let first: Value = first.json().await.unwrap();

    let again = app
        .post_idempotent("/api/v1/organisations", &admin, "create-roche", &body)
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(header(&again, "location"), location);
    assert_eq!(header(&again, "etag"), etag1);
    assert!(
        header(&again, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(header(&again, "x-request-id").is_some());
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the same record, the same body");

    assert_eq!(org_names(&app, &admin).await, ["Roche Norge"]);
    let created = app
        .audit_events(&admin, "action=organisation.created")
        .await;
    assert_eq!(created.len(), 1, "created once, audited once");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_idempotency_key_reused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "key-1",
            &org_body("Roche Norge"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "key-1",
            &org_body("Novartis Norge"),
        )
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;
    // Nor on another endpoint.
    let res = app
        .post_idempotent(
            "/api/v1/people",
            &admin,
            "key-1",
            &json!({"name": "Kari Nordmann", "email": "kari@example.org"}),
        )
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;
    assert_eq!(org_names(&app, &admin).await, ["Roche Norge"]);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "shared-key",
            &org_body("Novartis Norge"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Another user with the same key: their own request, neither a replay nor a reuse.
    let res = app
        .post_idempotent(
            "/api/v1/people",
            &rep.token,
            "shared-key",
            &json!({"name": "Kari Nordmann", "email": "kari@roche.test"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        header(&res, "idempotent-replayed").as_deref(),
        Some("false")
    );
    // An API token is a caller of its own, even the admin's.
    let (_, secret) = app.create_api_token(&admin, &["organisations:write"]).await;
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &secret,
            "shared-key",
            &org_body("Lilly Norge"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        org_names(&app, &admin).await,
        ["Lilly Norge", "Novartis Norge", "Roche Norge"]
    );
}

#[tokio::test]
async fn a_replayed_user_creation_creates_one_account() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"email": "second@connect.test", "display_name": "Second",
                      "role": "admin", "password": USER_PASSWORD});
    let first = app
        .post_idempotent("/api/v1/users", &admin, "user-1", &body)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = app
        .post_idempotent("/api/v1/users", &admin, "user-1", &body)
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(id_of(&again), id_of(&first));
    let res = app.get("/api/v1/users?role=admin", &admin).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_replayed_membership_change_is_recorded_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Roche Norge", "pharma").await;
    let path = format!("/api/v1/organisations/{}/membership-changes", id_of(&org));
    let body = json!({"to_status": "partner", "effective_date": "2024-01-01", "reason": "board"});
    let first = app
        .post_idempotent(&path, &admin, "admit-roche", &body)
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = app
        .post_idempotent(&path, &admin, "admit-roche", &body)
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(id_of(&again), id_of(&first));

    let res = app.get(&path, &admin).await;
    let history: Value = res.json().await.unwrap();
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
    let res = app
        .get(&format!("/api/v1/organisations/{}", id_of(&org)), &admin)
        .await;
    assert_eq!(etag(&res), "\"2\"", "the organisation changed once");
}

#[tokio::test]
async fn an_empty_or_overlong_key_is_400_invalid_parameter() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for key in [String::new(), "k".repeat(256)] {
        let res = app
            .post_idempotent(
                "/api/v1/organisations",
                &admin,
                &key,
                &org_body("Roche Norge"),
            )
            .await;
        assert_problem(res, 400, "invalid-parameter").await;
    }
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            &"k".repeat(255),
            &org_body("Roche Norge"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_401_is_not_kept_so_the_retry_after_logging_in_runs() {
    let app = spawn_app().await;
    let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    let res = app
        .post_anon(
            "/api/v1/auth/logout",
            &json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let body = org_body("Roche Norge");
    let res = app
        .post_idempotent("/api/v1/organisations", access, "retry-me", &body)
        .await;
    assert_problem(res, 401, "unauthenticated").await;

    let admin = app.admin_token().await;
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "retry-me", &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        header(&res, "idempotent-replayed").as_deref(),
        Some("false")
    );
}

#[tokio::test]
async fn concurrent_retries_create_one_record() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = org_body("Roche Norge");
    let attempts =
        (0..6).map(|_| app.post_idempotent("/api/v1/organisations", &admin, "race", &body));
    let responses = futures_util::future::join_all(attempts).await;
    let mut ids = Vec::new();
    for res in responses {
        match res.status().as_u16() {
            201 => ids.push(id_of(&res.json::<Value>().await.unwrap())),
            409 => {
                assert_problem(res, 409, "idempotency-key-in-use").await;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert!(!ids.is_empty());
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(org_names(&app, &admin).await, ["Roche Norge"]);
}

#[tokio::test]
async fn a_token_created_with_a_key_keeps_no_secret_in_clear() {
    use connect::schema::idempotency_keys as ik;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post_idempotent(
            "/api/v1/api-tokens",
            &admin,
            "token-1",
            &json!({"name": "reporting", "scopes": ["organisations:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let mut conn = app.db_conn();
    let stored: Vec<Option<String>> = ik::table.select(ik::response_body).load(&mut conn).unwrap();
    assert_eq!(
        stored.len(),
        1,
        "the key is kept, so a retry creates nothing twice"
    );
    for body in stored.into_iter().flatten() {
        assert!(
            !body.contains(&secret[4..]),
            "the secret is kept in clear: {body}"
        );
    }
    // A retry creates no second token and, as the secret cannot be shown again, answers 409.
    let res = app
        .post_idempotent(
            "/api/v1/api-tokens",
            &admin,
            "token-1",
            &json!({"name": "reporting", "scopes": ["organisations:read"]}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let tokens: Value = app
        .get("/api/v1/api-tokens", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_replay_needs_a_credential_that_still_works() {
    let app = spawn_app().await;
    let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    let admin = app.admin_token().await;
    let (token_id, secret) = app.create_api_token(&admin, &["organisations:write"]).await;
    let body = org_body("Roche Norge");
    let res = app
        .post_idempotent("/api/v1/organisations", access, "k", &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let other = org_body("Lilly Norge");
    let res = app
        .post_idempotent("/api/v1/organisations", &secret, "k", &other)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // The session ends and the token is revoked: neither may have the stored answers.
    let res = app
        .post_anon(
            "/api/v1/auth/logout",
            &json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("/api/v1/api-tokens/{token_id}"), &admin, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post_idempotent("/api/v1/organisations", access, "k", &body)
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .post_idempotent("/api/v1/organisations", &secret, "k", &other)
        .await;
    assert_problem(res, 401, "unauthenticated").await;
}
