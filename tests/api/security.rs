//! Findings of the attacker's probe (issue 8), each checked through HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_409_says_only_that_a_value_is_taken_not_whose_it_is() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = app.rep(&admin, "Alfa", "partner").await;
    // A hidden applicant company with a contact.
    let hidden = id_of(&app.create_org(&admin, "Hidden Pharma AS", "pharma").await);
    app.set_status(&admin, &hidden, "applicant").await;
    app.create_contact(
        &admin,
        Some(&hidden),
        "Secret",
        "secret.contact@hidden.test",
    )
    .await;

    let res = app
        .post(
            "/api/v1/people",
            &a.token,
            &json!({"name": "Probe", "email": "secret.contact@hidden.test"}),
        )
        .await;
    let body = assert_problem(res, 409, "conflict").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(!detail.contains("secret.contact"), "{detail}");

    let res = app
        .patch(
            &format!("/api/v1/organisations/{}", a.organisation_id),
            &a.token,
            Some("*"),
            &json!({"name": "Hidden Pharma AS"}),
        )
        .await;
    let body = assert_problem(res, 409, "conflict").await;
    let detail = body["detail"].as_str().unwrap();
    assert!(!detail.contains("Hidden"), "{detail}");
    assert_eq!(
        app.get(&format!("/api/v1/organisations/{hidden}"), &a.token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn secrets_are_not_cached_and_nothing_is_sniffed() {
    let app = spawn_app().await;
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let pair: serde_json::Value = res.json().await.unwrap();
    let res = app
        .post_anon(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let token = app.admin_token().await;
    let res = app.get("/api/v1/me", &token).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = app
        .post(
            "/api/v1/api-tokens",
            &token,
            &json!({"name": "cache probe", "scopes": ["organisations:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let res = app.get("/api/v1/organisations", &token).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let res = app.get("/api/v1/organisations/not-a-uuid", &token).await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}
