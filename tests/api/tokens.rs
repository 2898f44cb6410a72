//! API tokens: created from a session with scopes, secret shown once and stored hashed, revocable,
//! and never more powerful than their owner.

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use connect::schema::api_tokens as at;

use crate::helpers::*;

async fn list_tokens(app: &TestApp, session: &str) -> Vec<Value> {
    let res = app.get("/api/v1/api-tokens", session).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn creating_a_token_returns_its_secret_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": "IMPRESS reporting", "scopes": ["organisations:read", "people:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["location"], "/api/v1/api-tokens");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("cnt_"), "{secret}");
    assert!(secret.len() >= 40, "a secret carries enough randomness");
    assert_eq!(created["name"], "IMPRESS reporting");
    assert_eq!(
        created["scopes"],
        json!(["organisations:read", "people:read"])
    );
    assert_eq!(created["token_prefix"], &secret[..8]);
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["revoked_at"], Value::Null);

    // The listing shows the token without its secret.
    let tokens = list_tokens(&app, &admin).await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], created["id"]);
    assert_eq!(tokens[0]["token_prefix"], &secret[..8]);
    assert!(tokens[0].get("secret").is_none(), "{}", tokens[0]);
    assert!(!tokens[0].to_string().contains(secret));
}

#[tokio::test]
async fn the_secret_is_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, secret) = app.create_api_token(&admin, &["organisations:read"]).await;
    let mut conn = app.db_conn();
    let (hash, prefix, name, scopes): (String, String, String, String) = at::table
        .filter(at::id.eq(&id))
        .select((at::token_hash, at::token_prefix, at::name, at::scopes))
        .first(&mut conn)
        .unwrap();
    for stored in [&hash, &prefix, &name, &scopes] {
        assert!(
            !stored.contains(&secret[4..]),
            "the secret is stored: {stored}"
        );
    }
    assert_ne!(hash, secret);
    assert_eq!(prefix, &secret[..8]);
}

#[tokio::test]
async fn a_token_authenticates_with_exactly_its_scopes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, secret) = app.create_api_token(&admin, &["organisations:read"]).await;
    let me = app.me(&secret).await;
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me["authenticated_with"], "api_token");
    assert_eq!(me["scopes"], json!(["organisations:read"]));
    let res = app.get("/api/v1/organisations", &secret).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_with_only_organisations_read_gets_insufficient_scope_elsewhere() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, secret) = app.create_api_token(&admin, &["organisations:read"]).await;

    let res = app
        .post(
            "/api/v1/organisations",
            &secret,
            &json!({"name": "Novartis Norge", "kind": "pharma", "sector": "private"}),
        )
        .await;
    let problem = assert_problem(res, 403, "insufficient-scope").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("organisations:write"),
        "{problem}"
    );
    let res = app.get("/api/v1/people", &secret).await;
    assert_problem(res, 403, "insufficient-scope").await;
    let res = app
        .post(
            "/api/v1/people",
            &secret,
            &json!({"name": "Kari Nordmann", "email": "kari@example.org"}),
        )
        .await;
    assert_problem(res, 403, "insufficient-scope").await;
    let res = app.get("/api/v1/users", &secret).await;
    assert_problem(res, 403, "insufficient-scope").await;
    let res = app.get("/api/v1/audit-events", &secret).await;
    assert_problem(res, 403, "insufficient-scope").await;

    // Nothing was created.
    let res = app.get("/api/v1/organisations", &admin).await;
    let orgs: Value = res.json().await.unwrap();
    assert_eq!(orgs["items"], json!([]));
}

#[tokio::test]
async fn a_token_with_the_scope_may_do_what_its_owner_may() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, secret) = app
        .create_api_token(&admin, &["organisations:write", "users:read"])
        .await;
    let res = app
        .post(
            "/api/v1/organisations",
            &secret,
            &json!({"name": "Novartis Norge", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.get("/api/v1/users", &secret).await.status(), 200);
}

#[tokio::test]
async fn a_representative_cannot_create_a_token_with_scopes_beyond_their_role() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Lilly Norge", "partner").await;
    for scope in ["users:read", "users:write", "audit:read"] {
        let res = app
            .post(
                "/api/v1/api-tokens",
                &rep.token,
                &json!({"name": "too much", "scopes": ["organisations:read", scope]}),
            )
            .await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "scopes[1]", "{problem}");
        assert_eq!(problem["errors"][0]["code"], "not_allowed");
    }
    assert!(list_tokens(&app, &rep.token).await.is_empty());
}

#[tokio::test]
async fn a_token_never_does_more_than_its_owner() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Lilly Norge", "partner").await;
    let (_, secret) = app
        .create_api_token(&rep.token, &["organisations:write", "people:write"])
        .await;
    // Representatives cannot create organisations, so neither can their token.
    let res = app
        .post(
            "/api/v1/organisations",
            &secret,
            &json!({"name": "Novartis Norge", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // Nor change membership status.
    let res = app
        .post(
            &format!(
                "/api/v1/organisations/{}/membership-changes",
                rep.organisation_id
            ),
            &secret,
            &json!({"to_status": "suspended", "effective_date": "2024-02-01", "reason": "test"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[tokio::test]
async fn a_token_cannot_create_list_or_revoke_api_tokens() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, secret) = app.create_api_token(&admin, &["users:write"]).await;
    let res = app
        .post(
            "/api/v1/api-tokens",
            &secret,
            &json!({"name": "child", "scopes": ["organisations:read"]}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.get("/api/v1/api-tokens", &secret).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .delete(&format!("/api/v1/api-tokens/{id}"), &secret, None)
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(list_tokens(&app, &admin).await.len(), 1);
}

#[tokio::test]
async fn revoking_a_token_stops_it_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (id, secret) = app.create_api_token(&admin, &["organisations:read"]).await;
    assert_eq!(app.get("/api/v1/me", &secret).await.status(), 200);

    let res = app
        .delete(&format!("/api/v1/api-tokens/{id}"), &admin, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.get("/api/v1/me", &secret).await;
    assert_problem(res, 401, "unauthenticated").await;

    let tokens = list_tokens(&app, &admin).await;
    assert_eq!(tokens[0]["id"], id.as_str());
    assert!(tokens[0]["revoked_at"].is_string(), "{}", tokens[0]);
    // Revoking again is fine.
    let res = app
        .delete(&format!("/api/v1/api-tokens/{id}"), &admin, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn other_users_tokens_are_invisible_and_cannot_be_revoked() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Lilly Norge", "partner").await;
    let (admin_token_id, admin_secret) =
        app.create_api_token(&admin, &["organisations:read"]).await;
    app.create_api_token(&rep.token, &["people:read"]).await;

    let rep_tokens = list_tokens(&app, &rep.token).await;
    assert_eq!(rep_tokens.len(), 1);
    assert_eq!(rep_tokens[0]["scopes"], json!(["people:read"]));
    let admin_tokens = list_tokens(&app, &admin).await;
    assert_eq!(admin_tokens.len(), 1);
    assert_eq!(admin_tokens[0]["id"], admin_token_id.as_str());

    let res = app
        .delete(
            &format!("/api/v1/api-tokens/{admin_token_id}"),
            &rep.token,
            None,
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    // Even an admin cannot revoke someone else's token here.
    let rep_token_id = rep_tokens[0]["id"].as_str().unwrap();
    let res = app
        .delete(&format!("/api/v1/api-tokens/{rep_token_id}"), &admin, None)
        .await;
    assert_problem(res, 404, "not-found").await;
    assert_eq!(app.get("/api/v1/me", &admin_secret).await.status(), 200);
}

#[tokio::test]
async fn an_expiry_in_the_past_is_rejected_at_creation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": "late", "scopes": ["organisations:read"], "expires_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "expires_at");
    assert_eq!(problem["errors"][0]["code"], "in_past");
    assert!(list_tokens(&app, &admin).await.is_empty());
}

#[tokio::test]
async fn a_token_with_a_future_expiry_works_until_it_expires() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": "yearly", "scopes": ["organisations:read"], "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["expires_at"], "2099-01-01T00:00:00Z");
    let secret = created["secret"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", secret).await.status(), 200);

    // Let it expire (in the database, rather than waiting).
    let id = created["id"].as_str().unwrap().to_owned();
    let mut conn = app.db_conn();
    let past = chrono::Utc::now().naive_utc() - chrono::TimeDelta::minutes(1);
    diesel::update(at::table.filter(at::id.eq(&id)))
        .set(at::expires_at.eq(Some(past)))
        .execute(&mut conn)
        .unwrap();
    let res = app.get("/api/v1/me", secret).await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_token_needs_a_name_and_known_scopes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": " ", "scopes": []}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "scopes"], "{problem}");
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": "x", "scopes": ["everything"]}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "scopes[0]", "{problem}");
    assert!(list_tokens(&app, &admin).await.is_empty());
}

#[tokio::test]
async fn creating_and_revoking_tokens_is_audited() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (id, secret) = app.create_api_token(&admin, &["organisations:read"]).await;
    let res = app
        .delete(&format!("/api/v1/api-tokens/{id}"), &admin, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let events = app
        .audit_events(&admin, &format!("record_type=api_token&record_id={id}"))
        .await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_token.revoked", "api_token.created"]);
    for e in &events {
        assert_eq!(e["actor_id"], admin_id.as_str());
        assert!(
            !e.to_string().contains(&secret[4..]),
            "no secret in the audit"
        );
    }
}

#[tokio::test]
async fn changes_made_with_a_token_are_audited_as_the_token() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (token_id, secret) = app.create_api_token(&admin, &["organisations:write"]).await;
    let res = app
        .post(
            "/api/v1/organisations",
            &secret,
            &json!({"name": "Novartis Norge", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let org: Value = res.json().await.unwrap();
    let events = app
        .audit_events(
            &admin,
            &format!("record_id={}", org["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor_kind"], "api_token");
    assert_eq!(events[0]["actor_id"], format!("{admin_id}/{token_id}"));
    // Filtering by the owner finds changes made with their tokens.
    let mine = app
        .audit_events(
            &admin,
            &format!("actor_id={admin_id}&action=organisation.created"),
        )
        .await;
    assert_eq!(mine.len(), 1);
}

#[tokio::test]
async fn a_token_loses_what_its_owner_loses() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, secret) = app.create_api_token(&admin, &["users:read"]).await;
    assert_eq!(app.get("/api/v1/users", &secret).await.status(), 200);

    // Another admin makes the token's owner a representative.
    app.create_user(&admin, "second@connect.test", "admin", None)
        .await;
    let second = app.login("second@connect.test", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let org = app.create_org(&second, "Roche Norge", "pharma").await;
    let owner_id = app.me(&admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/users/{owner_id}");
    let res = app
        .patch(
            &path,
            &second,
            Some(&app.current_etag(&path, &second).await),
            &json!({"role": "partner_representative", "organisation_id": id_of(&org)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The token keeps its scope but no longer its owner's admin rights.
    let res = app.get("/api/v1/users", &secret).await;
    assert_problem(res, 403, "forbidden").await;
}
