//! Sessions: login, refresh-token rotation, logout, `me`, password changes and the login throttle.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_anon(
        "/api/v1/auth/refresh",
        &json!({"refresh_token": refresh_token}),
    )
    .await
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

fn refresh_token(pair: &Value) -> &str {
    pair["refresh_token"].as_str().unwrap()
}

async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.post(
        "/api/v1/me/password",
        token,
        &json!({"current_password": current, "new_password": new}),
    )
    .await
}

#[tokio::test]
async fn login_returns_a_bearer_access_token_and_a_refresh_token() {
    let app = spawn_app().await;
    let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert!(pair["refresh_expires_in"].as_i64().unwrap() > 900);
    assert!(!refresh_token(&pair).is_empty());
    assert_ne!(access(&pair), refresh_token(&pair));
    // The access token is a JWT.
    assert_eq!(access(&pair).split('.').count(), 3);
}

#[tokio::test]
async fn first_admin_is_created_from_the_configured_email_and_password() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.me(&admin).await;
    assert_eq!(me["user"]["email"], ADMIN_EMAIL);
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["user"]["active"], true);
    assert_eq!(me["user"]["organisation_id"], Value::Null);
    assert_eq!(me["standing"], "admin");
    assert_eq!(me["authenticated_with"], "session");
    let res = app.get("/api/v1/users", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let users: Value = res.json().await.unwrap();
    assert_eq!(users["items"].as_array().unwrap().len(), 1, "{users}");
}

#[tokio::test]
async fn login_email_is_case_insensitive() {
    let app = spawn_app().await;
    let pair = app.login(&ADMIN_EMAIL.to_uppercase(), ADMIN_PASSWORD).await;
    assert_eq!(app.me(access(&pair)).await["user"]["email"], ADMIN_EMAIL);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_401_problem() {
    let app = spawn_app().await;
    let unknown = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": "nobody@connect.test", "password": ADMIN_PASSWORD}),
        )
        .await;
    let unknown_auth = unknown.headers().get("www-authenticate").cloned();
    let unknown = assert_problem(unknown, 401, "unauthenticated").await;
    let wrong = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": "not-the-admin-password"}),
        )
        .await;
    let wrong_auth = wrong.headers().get("www-authenticate").cloned();
    let wrong = assert_problem(wrong, 401, "unauthenticated").await;
    assert_eq!(unknown, wrong, "the answers must not tell the cases apart");
    assert_eq!(unknown_auth, wrong_auth);
    assert!(unknown_auth.is_some(), "401 carries WWW-Authenticate");
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_with_429_and_retry_after() {
    let app = spawn_app().await;
    // A second account, to show the lock is per account.
    let admin = app.admin_token().await;
    app.create_user(&admin, "other@connect.test", "admin", None)
        .await;
    for attempt in 1..=5 {
        let res = app
            .post_anon(
                "/api/v1/auth/login",
                &json!({"email": ADMIN_EMAIL, "password": format!("wrong-password-{attempt}")}),
            )
            .await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    // Locked now, even with the right password.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_problem(res, 429, "too-many-requests").await;
    // Another account is not affected.
    app.login("other@connect.test", USER_PASSWORD).await;
}

#[tokio::test]
async fn unknown_addresses_lock_alike_so_the_lock_reveals_no_account() {
    let app = spawn_app().await;
    let attempt = json!({"email": "nobody@connect.test", "password": "whatever-it-is"});
    for _ in 0..5 {
        let res = app.post_anon("/api/v1/auth/login", &attempt).await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    let res = app.post_anon("/api/v1/auth/login", &attempt).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "too-many-requests").await;
}

#[tokio::test]
async fn four_failed_logins_do_not_lock_and_a_success_resets_the_count() {
    let app = spawn_app().await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "wrong-password"});
    for _ in 0..4 {
        let res = app.post_anon("/api/v1/auth/login", &wrong).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // The count started again: one more failure does not lock.
    let res = app.post_anon("/api/v1/auth/login", &wrong).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn refresh_rotates_to_a_new_working_pair() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = refresh(&app, refresh_token(&first)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["token_type"], "Bearer");
    assert_ne!(refresh_token(&second), refresh_token(&first));
    assert_eq!(app.me(access(&second)).await["user"]["email"], ADMIN_EMAIL);
    // The new refresh token rotates again.
    let res = refresh(&app, refresh_token(&second)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = refresh(&app, refresh_token(&first)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();

    // The first refresh token again: a replay.
    let res = refresh(&app, refresh_token(&first)).await;
    assert_problem(res, 401, "unauthenticated").await;

    // The newer token of the family is dead too, and so is its access token.
    let res = refresh(&app, refresh_token(&second)).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.get("/api/v1/me", access(&second)).await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn a_revoked_family_leaves_other_sessions_alone() {
    let app = spawn_app().await;
    let stolen = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(refresh(&app, refresh_token(&stolen)).await.status(), 200);
    assert_eq!(refresh(&app, refresh_token(&stolen)).await.status(), 401);
    assert_eq!(app.get("/api/v1/me", access(&other)).await.status(), 200);
    assert_eq!(refresh(&app, refresh_token(&other)).await.status(), 200);
}

#[tokio::test]
async fn an_unknown_refresh_token_is_401() {
    let app = spawn_app().await;
    let res = refresh(&app, "not-a-refresh-token").await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_token_at_once() {
    let app = spawn_app().await;
    let pair = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", access(&pair)).await.status(), 200);

    let res = app
        .post_anon(
            "/api/v1/auth/logout",
            &json!({"refresh_token": refresh_token(&pair)}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let res = app.get("/api/v1/me", access(&pair)).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = refresh(&app, refresh_token(&pair)).await;
    assert_problem(res, 401, "unauthenticated").await;
    // Only that session ended.
    assert_eq!(app.get("/api/v1/me", access(&other)).await.status(), 200);
}

#[tokio::test]
async fn logout_with_an_unknown_token_answers_204() {
    let app = spawn_app().await;
    let res = app
        .post_anon(
            "/api/v1/auth/logout",
            &json!({"refresh_token": "never-issued"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn me_requires_a_valid_credential() {
    let app = spawn_app().await;
    let res = app.get_anon("/api/v1/me").await;
    assert!(res.headers().contains_key("www-authenticate"));
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.get("/api/v1/me", "not.a.jwt").await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.get("/api/v1/me", "cnt_not-a-real-api-token").await;
    assert_problem(res, 401, "unauthenticated").await;
    // A token signed with another key.
    let forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImlzcyI6ImNvbm5lY3QiLCJhdWQiOiJjb25uZWN0LWFwaSIsInNpZCI6IngifQ.c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g";
    let res = app.get("/api/v1/me", forged).await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn me_describes_a_representative_and_their_organisation() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Roche Norge", "partner").await;
    let me = app.me(&rep.token).await;
    assert_eq!(me["user"]["id"], rep.user_id.as_str());
    assert_eq!(me["user"]["email"], rep.email.as_str());
    assert_eq!(me["user"]["role"], "partner_representative");
    assert_eq!(me["organisation"]["id"], rep.organisation_id.as_str());
    assert_eq!(me["organisation"]["name"], "Roche Norge");
    assert_eq!(me["organisation"]["membership_status"], "partner");
    assert_eq!(me["standing"], "partner");
    assert_eq!(me["can_read_consortium"], true);
    assert_eq!(me["can_write_consortium"], true);
    // A session carries the scopes of the role, which excludes users and audit.
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"organisations:write"), "{scopes:?}");
    assert!(!scopes.contains(&"users:read"), "{scopes:?}");
}

#[tokio::test]
async fn change_password_with_a_wrong_current_password_is_422() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = change_password(
        &app,
        &admin,
        "not-my-current-password",
        "a brand new passphrase",
    )
    .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(
        problem["errors"][0]["field"], "current_password",
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["code"], "incorrect");
    // The password did not change.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn change_password_rejects_short_and_common_new_passwords() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (new, code) in [
        ("short-pw", "too_short"),
        ("elevenchars", "too_short"),
        ("123456789012", "too_common"),
        ("aaaaaaaaaaaaaaaa", "too_common"),
    ] {
        let res = change_password(&app, &admin, ADMIN_PASSWORD, new).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "new_password", "{new}");
        assert_eq!(problem["errors"][0]["code"], code, "{new}: {problem}");
    }
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn change_password_ends_other_sessions_but_keeps_the_current_one() {
    let app = spawn_app().await;
    let current = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let new_password = "a brand new admin passphrase";

    let res = change_password(&app, access(&current), ADMIN_PASSWORD, new_password).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // This session continues, access and refresh alike.
    assert_eq!(app.get("/api/v1/me", access(&current)).await.status(), 200);
    assert_eq!(refresh(&app, refresh_token(&current)).await.status(), 200);
    // The other one ended at once.
    let res = app.get("/api/v1/me", access(&other)).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = refresh(&app, refresh_token(&other)).await;
    assert_problem(res, 401, "unauthenticated").await;
    // Only the new password logs in.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    app.login(ADMIN_EMAIL, new_password).await;
}

#[tokio::test]
async fn change_password_is_audited_without_the_password() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let admin_id = app.me(&admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_password = "a brand new admin passphrase";
    let res = change_password(&app, &admin, ADMIN_PASSWORD, new_password).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let events = app
        .audit_events(&admin, "action=user.password_changed")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["record_type"], "user");
    assert_eq!(events[0]["record_id"], admin_id.as_str());
    assert_eq!(events[0]["actor_id"], admin_id.as_str());
    let text = events[0].to_string();
    assert!(!text.contains(new_password) && !text.contains(ADMIN_PASSWORD));
}

#[tokio::test]
async fn an_api_token_cannot_change_the_password() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (_, secret) = app.create_api_token(&admin, &["users:write"]).await;
    let res = change_password(&app, &secret, ADMIN_PASSWORD, "a brand new passphrase").await;
    assert_problem(res, 403, "forbidden").await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn login_with_a_missing_field_is_422_naming_it() {
    let app = spawn_app().await;
    let res = app
        .post_anon("/api/v1/auth/login", &json!({"email": ADMIN_EMAIL}))
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "password");
    assert_eq!(problem["errors"][0]["code"], "required");
}
