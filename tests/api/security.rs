//! Findings of the attacker's probe (issue 8), each checked through HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::smtp::{SmtpServer, eventually, link_token, spawn_mail_app};

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

    let path = format!("/api/v1/organisations/{}", a.organisation_id);
    let res = app
        .patch(
            &path,
            &a.token,
            Some(&app.current_etag(&path, &a.token).await),
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

/// Signs claims with the test servers' JWT secret, as someone who stole it would.
fn forge(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(b"test-secret-test-secret-test-secret-0123"),
    )
    .unwrap()
}

fn claims_of(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_forged_token_must_pair_its_session_with_its_user_and_live_no_longer_than_issued_ones() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Alfa", "partner").await;
    let admin_claims = claims_of(&admin);
    let rep_claims = claims_of(&rep.token);
    let now = chrono::Utc::now().timestamp();

    // The forger's mechanics are right: a token made like the service's own works.
    let mut genuine = rep_claims.clone();
    genuine["iat"] = json!(now);
    genuine["exp"] = json!(now + 600);
    assert_eq!(
        app.get("/api/v1/me", &forge(&genuine)).await.status(),
        StatusCode::OK
    );

    // An admin's `sub` with a representative's session is refused.
    let mut mixed = genuine.clone();
    mixed["sub"] = admin_claims["sub"].clone();
    assert_problem(
        app.get("/api/v1/users", &forge(&mixed)).await,
        401,
        "unauthenticated",
    )
    .await;

    // Ten years, or issued in the future, or not valid before an hour from now: refused.
    for (iat, exp, nbf) in [
        (now, now + 10 * 365 * 86_400, None),
        (now + 3_000, now + 3_600, None),
        (now, now + 600, Some(now + 3_600)),
    ] {
        let mut c = genuine.clone();
        c["iat"] = json!(iat);
        c["exp"] = json!(exp);
        if let Some(nbf) = nbf {
            c["nbf"] = json!(nbf);
        }
        assert_problem(
            app.get("/api/v1/me", &forge(&c)).await,
            401,
            "unauthenticated",
        )
        .await;
    }
}

#[tokio::test]
async fn a_predictable_jwt_secret_stops_start_up() {
    let env = std::collections::BTreeMap::from([
        ("CONNECT_JWT_SECRET".to_string(), "a".repeat(40)),
        (
            "CONNECT_DATABASE_URL".to_string(),
            "sqlite://unused.db".to_string(),
        ),
    ]);
    let Err(err) = connect::config::Settings::from_sources(&env) else {
        panic!("a predictable secret was accepted");
    };
    assert!(err.to_string().contains("CONNECT_JWT_SECRET"), "{err}");
}

#[tokio::test]
async fn csv_cells_are_quoted_so_a_semicolon_cannot_start_a_formula() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": "Alfa;=HYPERLINK(\"http://evil.example\")", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let text = app
        .get_csv("/api/v1/organisations", &admin)
        .await
        .text()
        .await
        .unwrap();
    // Every cell is quoted: an Excel that splits on ';' keeps the name in one cell.
    assert!(
        text.contains(r#""Alfa;=HYPERLINK(""http://evil.example"")""#),
        "{text}"
    );
    for line in text.lines() {
        assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
    }
}

#[tokio::test]
async fn nul_characters_and_huge_search_texts_get_422_not_500() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // No login needed for the first.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": "admin\u{0}@example.org", "password": "whatever it is"}),
        )
        .await;
    assert_field_error(res, "body", "invalid_characters").await;
    let res = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": "Nul\u{0}AS", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_field_error(res, "body", "invalid_characters").await;
    for (path, param) in [
        ("/api/v1/organisations?q=a%00b", "q"),
        ("/api/v1/audit-events?action=a%00", "action"),
        ("/api/v1/notifications?recipient=a%00@x.test", "recipient"),
        ("/api/v1/invitations?email=a%00@x.test", "email"),
    ] {
        let res = app.get(path, &admin).await;
        assert_field_error(res, param, "invalid_characters").await;
    }
    let long = format!("/api/v1/organisations?q={}", "a".repeat(50_001));
    let res = app.get(&long, &admin).await;
    assert_field_error(res, "q", "too_long").await;
    let res = app.get("/api/v1/people?q=%25%25%25", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn names_with_direction_overrides_or_only_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (name, code) in [
        ("Roche\u{202E}SA ehcoR", "invalid_characters"),
        ("\u{200B}\u{200B}\u{200B}", "required"),
    ] {
        let res = app
            .post(
                "/api/v1/organisations",
                &admin,
                &json!({"name": name, "kind": "pharma", "sector": "private"}),
            )
            .await;
        assert_field_error(res, "name", code).await;
        let res = app
            .post(
                "/api/v1/people",
                &admin,
                &json!({"name": name, "email": "invisible@example.org"}),
            )
            .await;
        assert_field_error(res, "name", code).await;
    }
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Stable AS", "pharma").await;
    let path = format!("/api/v1/organisations/{}", id_of(&org));
    for body in [json!({}), json!({"name": "Stable AS"})] {
        let res = app.patch(&path, &admin, Some("\"1\""), &body).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "\"1\"");
    }
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"short_name": "Stable"}),
        )
        .await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    let events = app
        .list_items(
            &format!("/api/v1/audit-events?record_id={}", id_of(&org)),
            &admin,
        )
        .await;
    assert_eq!(events.len(), 2, "created and one update: {events:?}");

    // The same for a contact.
    let person = app
        .create_contact(&admin, Some(&id_of(&org)), "Steady", "steady@stable.test")
        .await;
    let path = format!("/api/v1/people/{}", id_of(&person));
    for body in [json!({}), json!({"name": "Steady"})] {
        let res = app.patch(&path, &admin, Some("\"1\""), &body).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["etag"], "\"1\"");
    }
}

async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/auth/login", app.address))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_attacker_who_locks_an_account_does_not_keep_its_owner_out() {
    let app = spawn_app_with(&[("CONNECT_TRUSTED_PROXY_HOPS", "1")]).await;
    let attacker = "203.0.113.66";
    for _ in 0..5 {
        let res = login_from(&app, attacker, ADMIN_EMAIL, "a wrong guess").await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    // Locked for the attacker, even with the right password.
    let res = login_from(&app, attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "too-many-requests").await;
    // The secretariat, from its own address, still gets in.
    let res = login_from(&app, "198.51.100.10", ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    // And that login did not lift the lock for the attacker.
    let res = login_from(&app, attacker, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_problem(res, 429, "too-many-requests").await;
    // A second address that guesses wrong is locked out in turn, at its first failure.
    let other = "203.0.113.67";
    let res = login_from(&app, other, ADMIN_EMAIL, "another guess").await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = login_from(&app, other, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_problem(res, 429, "too-many-requests").await;
}

#[tokio::test]
async fn two_admins_demoting_or_deactivating_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let mut current = app.admin_token().await;
    for round in 0..6 {
        let current_id = app.me(&current).await["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // A second admin, then each of the two removes the other at the same moment.
        let email = format!("second{round}@admins.test");
        let second_id = id_of(&app.create_user(&current, &email, "admin", None).await);
        let second = app.login(&email, USER_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let org = id_of(
            &app.create_org(&current, &format!("Demoted {round} AS"), "pharma")
                .await,
        );
        let remove = |token: String, id: String| {
            let org = org.clone();
            let app = &app;
            async move {
                if round % 2 == 0 {
                    let path = format!("/api/v1/users/{id}");
                    app.patch(
                        &path,
                        &token,
                        Some(&app.current_etag(&path, &token).await),
                        &json!({"role": "partner_representative", "organisation_id": org}),
                    )
                    .await
                    .status()
                } else {
                    app.post(
                        &format!("/api/v1/users/{id}/deactivate"),
                        &token,
                        &json!({}),
                    )
                    .await
                    .status()
                }
            }
        };
        let (a, b) = tokio::join!(
            remove(current.clone(), second_id.clone()),
            remove(second.clone(), current_id.clone()),
        );
        assert!(
            !(a.is_success() && b.is_success()),
            "round {round}: both succeeded, no admin is left"
        );
        assert!(
            a.is_success() || b.is_success(),
            "round {round}: neither succeeded ({a}, {b}): the race was not run"
        );
        // Whoever is still an active admin goes on.
        let is_admin = |token: String| {
            let app = &app;
            async move {
                let res = app.get("/api/v1/me", &token).await;
                res.status().is_success()
                    && res.json::<serde_json::Value>().await.unwrap()["user"]["role"] == "admin"
            }
        };
        current = match (
            is_admin(current.clone()).await,
            is_admin(second.clone()).await,
        ) {
            (true, false) => current,
            (false, true) => second,
            other => panic!("round {round}: admins left {other:?} ({a}, {b})"),
        };
    }
}

#[tokio::test]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    for i in 0..20 {
        let method = reqwest::Method::from_bytes(format!("XM{i}").as_bytes()).unwrap();
        app.client
            .request(method, format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap();
        app.client
            .get(format!("{}/no/such/path/{i}", app.address))
            .send()
            .await
            .unwrap();
    }
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("XM1"), "a made-up method became a label");
    assert!(
        !metrics.contains("/no/such/path"),
        "a made-up path became a label"
    );
    assert!(metrics.contains(r#"method="other""#), "{metrics}");
}

// ---------------------------------------------------------------------------------------------
// Credentials a password change or reset must end, and the notice of a new API token

const SECOND_PASSWORD: &str = "a second private passphrase";
const THIRD_PASSWORD: &str = "a third private passphrase";

/// A representative with `language`; returns the user id.
async fn user_in(app: &TestApp, admin: &str, email: &str, language: &str) -> String {
    let org = app
        .create_org(admin, &format!("Org of {email}"), "pharma")
        .await;
    let res = app
        .post(
            "/api/v1/users",
            admin,
            &json!({"email": email, "display_name": "Token Owner", "role": "partner_representative",
                    "organisation_id": id_of(&org), "password": USER_PASSWORD, "language": language}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    id_of(&res.json::<serde_json::Value>().await.unwrap())
}

#[tokio::test]
async fn a_password_change_or_reset_revokes_every_api_token_of_the_account() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "owner@tokens.test";
    let user_id = user_in(&app, &admin, email, "en").await;
    let session = app.login(email, USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, first) = app
        .create_api_token(&session, &["organisations:read"])
        .await;
    assert_eq!(app.get("/api/v1/me", &first).await.status(), StatusCode::OK);

    // A change through /me/password: the token stops at once; the session that changed it goes on.
    let res = app
        .post(
            "/api/v1/me/password",
            &session,
            &json!({"current_password": USER_PASSWORD, "new_password": SECOND_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/me", &first).await, 401, "unauthenticated").await;
    app.me(&session).await;
    let changed = app
        .audit_events(
            &admin,
            &format!("action=user.password_changed&record_id={user_id}"),
        )
        .await;
    assert_eq!(
        changed[0]["changes"]["api_tokens_revoked"], 1,
        "{changed:?}"
    );

    // A reset through the e-mailed link: the token made since stops too.
    let (_, second) = app
        .create_api_token(&session, &["organisations:read"])
        .await;
    assert_eq!(
        app.get("/api/v1/me", &second).await.status(),
        StatusCode::OK
    );
    let res = app
        .post_anon("/api/v1/auth/password-reset", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    // Two token notices, "password changed", and the reset link.
    let mails = smtp.wait_for_to(email, 4).await;
    let link = mails
        .iter()
        .find_map(|m| link_token(m.text(), "/password-reset/"))
        .expect("a reset link");
    let res = app
        .post_anon(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": link, "new_password": THIRD_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/me", &second).await, 401, "unauthenticated").await;
    let reset = app
        .audit_events(
            &admin,
            &format!("action=user.password_reset&record_id={user_id}"),
        )
        .await;
    assert_eq!(reset[0]["changes"]["api_tokens_revoked"], 1, "{reset:?}");
    // Tokens stay revoked, and new ones work.
    let fresh = app.login(email, THIRD_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = app.list_items("/api/v1/api-tokens", &fresh).await;
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens.iter().all(|t| !t["revoked_at"].is_null()),
        "{tokens:?}"
    );
    let (_, third) = app.create_api_token(&fresh, &["organisations:read"]).await;
    assert_eq!(app.get("/api/v1/me", &third).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn creating_an_api_token_tells_its_owner_by_e_mail_in_their_language() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "english@tokens.test";
    user_in(&app, &admin, email, "en").await;
    let session = app.login(email, USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            "/api/v1/api-tokens",
            &session,
            &json!({"name": "website <sync>", "scopes": ["people:read", "organisations:read"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let secret = res.json::<serde_json::Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let notice = smtp.wait_for_to(email, 1).await.remove(0);
    assert_eq!(
        notice.subject(),
        "A new API token was created for your CONNECT account"
    );
    let text = notice.text();
    assert!(text.starts_with("Hello Token Owner,"), "{text}");
    assert!(text.contains("website <sync>"), "{text}");
    assert!(
        text.contains(&secret[..8]),
        "the token's first characters: {text}"
    );
    assert!(text.contains("organisations:read, people:read"), "{text}");
    assert!(text.contains("until it is revoked."), "no expiry: {text}");
    assert!(notice.html().contains("website &lt;sync&gt;"));
    for body in [notice.text(), notice.html(), &notice.raw] {
        assert!(!body.contains(&secret[8..]), "never the secret");
    }

    // The admin reads bokmål; an expiry is told.
    let res = app
        .post(
            "/api/v1/api-tokens",
            &admin,
            &json!({"name": "rapport", "scopes": ["audit:read"], "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let notice = smtp.wait_for_to(ADMIN_EMAIL, 1).await.remove(0);
    assert_eq!(
        notice.subject(),
        "En ny API-nøkkel er laget for kontoen din i CONNECT"
    );
    assert!(
        notice.text().contains("utløper 2099-01-01 00:00 UTC"),
        "{}",
        notice.text()
    );
    let queued = app
        .list_items("/api/v1/notifications?kind=api_token_created", &admin)
        .await;
    assert_eq!(queued.len(), 2);
    smtp.assert_quiet(2, std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn a_reset_link_does_not_come_back_to_life_when_a_deactivated_account_is_reactivated() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "paused@tokens.test";
    let user_id = user_in(&app, &admin, email, "en").await;
    let res = app
        .post_anon("/api/v1/auth/password-reset", &json!({"email": email}))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let link = smtp.wait_for_to(email, 1).await[0].link_token("/password-reset/");
    for action in ["deactivate", "reactivate"] {
        let res = app
            .post(
                &format!("/api/v1/users/{user_id}/{action}"),
                &admin,
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app
        .post_anon(
            "/api/v1/auth/password-reset/confirm",
            &json!({"token": link, "new_password": SECOND_PASSWORD}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    app.login(email, USER_PASSWORD).await;
}

// ---------------------------------------------------------------------------------------------
// Files in the data directory

#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The `.eml` files in `dir`, once at least one is there.
#[cfg(unix)]
async fn eml_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    eventually("an .eml file", || async {
        let files: Vec<_> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        (!files.is_empty()).then_some(files)
    })
    .await
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_mail_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let sqlite = |db: &std::path::Path| format!("sqlite://{}", db.display());

    // A fresh start: folders made 0700, the database and its -wal and -shm 0600.
    let data = tmp.path().join("fresh/data");
    let db = tmp.path().join("fresh/db/connect.db");
    let app = spawn_app_with(&[
        ("CONNECT_DATA_DIR", data.to_str().unwrap()),
        ("CONNECT_DATABASE_URL", &sqlite(&db)),
    ])
    .await;
    let admin = app.admin_token().await;
    assert_eq!(mode_of(db.parent().unwrap()), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        assert_eq!(mode_of(&file), 0o600, "{}", file.display());
    }
    // The token notice is written as an .eml file under <data>/mail, 0600 in 0700 folders.
    app.create_api_token(&admin, &["organisations:read"]).await;
    let mail = data.join("mail");
    let files = eml_files(&mail).await;
    assert_eq!(mode_of(&data), 0o700);
    assert_eq!(mode_of(&mail), 0o700);
    for file in &files {
        assert_eq!(mode_of(file), 0o600, "{}", file.display());
    }

    // Left world-readable by an older version: narrowed at start-up.
    let old = tmp.path().join("old");
    let old_mail = old.join("mail");
    std::fs::create_dir_all(&old_mail).unwrap();
    let old_db = old.join("connect.db");
    let old_eml = old_mail.join("old.eml");
    std::fs::write(&old_db, b"").unwrap();
    std::fs::write(&old_eml, b"Subject: old\r\n\r\nold").unwrap();
    for (path, mode) in [
        (&old, 0o755),
        (&old_mail, 0o755),
        (&old_db, 0o644),
        (&old_eml, 0o644),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let again = spawn_app_with(&[
        ("CONNECT_DATA_DIR", old.to_str().unwrap()),
        ("CONNECT_DATABASE_URL", &sqlite(&old_db)),
    ])
    .await;
    again.admin_token().await;
    assert_eq!(mode_of(&old), 0o700);
    assert_eq!(mode_of(&old_mail), 0o700);
    assert_eq!(mode_of(&old_eml), 0o600);
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", old_db.display()));
        assert_eq!(mode_of(&file), 0o600, "{}", file.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Cursors, If-Match, methods

/// The `next_cursor` of the first page of `path` (with `limit=1`), which must have one.
async fn first_cursor(app: &TestApp, path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    let page = app.get_ok(&format!("{path}{sep}limit=1"), token).await;
    page["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{path} has one page only: {page}"))
        .to_owned()
}

#[tokio::test]
async fn a_cursor_works_only_on_the_list_that_gave_it_out() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = id_of(&app.create_org(&admin, "Alfa AS", "pharma").await);
    let b = id_of(&app.create_org(&admin, "Bravo AS", "pharma").await);
    for (org, name) in [(&a, "a1"), (&a, "a2"), (&b, "b1"), (&b, "b2")] {
        app.create_contact(&admin, Some(org), name, &format!("{name}@cursor.test"))
            .await;
    }
    app.set_status(&admin, &a, "suspended").await;
    app.set_status(&admin, &b, "suspended").await;
    app.create_user(&admin, "second@cursor.test", "admin", None)
        .await;
    app.create_api_token(&admin, &["organisations:read"]).await;
    app.create_api_token(&admin, &["organisations:read"]).await;

    let lists = [
        "/api/v1/organisations".to_owned(),
        "/api/v1/people".to_owned(),
        format!("/api/v1/organisations/{a}/people"),
        format!("/api/v1/organisations/{b}/people"),
        format!("/api/v1/organisations/{a}/membership-changes"),
        format!("/api/v1/organisations/{b}/membership-changes"),
        "/api/v1/users".to_owned(),
        "/api/v1/audit-events".to_owned(),
        "/api/v1/api-tokens".to_owned(),
    ];
    for from in &lists {
        let cursor = first_cursor(&app, from, &admin).await;
        // Its own list takes it.
        let own = app
            .get(&format!("{from}?limit=1&cursor={cursor}"), &admin)
            .await;
        assert_eq!(own.status(), StatusCode::OK, "{from}");
        for to in lists.iter().filter(|l| *l != from) {
            let res = app.get(&format!("{to}?cursor={cursor}"), &admin).await;
            let problem = assert_problem(res, 400, "invalid-parameter").await;
            assert!(
                problem["detail"].as_str().unwrap().contains("cursor"),
                "{from} → {to}: {problem}"
            );
        }
    }
}

#[tokio::test]
async fn if_match_star_is_refused_so_no_write_overwrites_what_it_never_read() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Starry AS", "pharma").await);
    let person = id_of(
        &app.create_contact(&admin, Some(&org), "Stella", "stella@starry.test")
            .await,
    );
    let user = id_of(
        &app.create_user(
            &admin,
            "star@starry.test",
            "partner_representative",
            Some(&org),
        )
        .await,
    );
    for path in [
        format!("/api/v1/organisations/{org}"),
        format!("/api/v1/people/{person}"),
        format!("/api/v1/users/{user}"),
    ] {
        let res = app
            .patch(&path, &admin, Some("*"), &json!({"name": "Overwritten"}))
            .await;
        let problem = assert_problem(res, 428, "precondition-required").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("ETag") && detail.contains('*'), "{detail}");
        if !path.contains("/users/") {
            let res = app.delete(&path, &admin, Some("*")).await;
            assert_problem(res, 428, "precondition-required").await;
        }
        // Nothing changed; the record's own ETag works.
        assert_eq!(app.get_ok(&path, &admin).await["version"], 1, "{path}");
        let res = app.patch(&path, &admin, Some("\"1\""), &json!({})).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn unknown_methods_get_501_and_known_paths_405_with_allow() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let send = |method: &str, path: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, app.url(path))
            .bearer_auth(&admin)
            .send()
    };
    for method in ["XABC", "TRACE"] {
        for path in [
            "/healthz",
            "/api/v1/organisations",
            "/api/v1/me",
            "/docs",
            "/docs/",
            "/openapi.json",
            "/no/such/path",
        ] {
            let res = send(method, path).await.unwrap();
            assert_problem(res, 501, "not-implemented").await;
        }
    }
    for (method, path, allow) in [
        ("PUT", "/api/v1/organisations", "GET, HEAD, POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
        ("POST", "/api/v1/me", "GET, HEAD"),
        (
            "PUT",
            "/api/v1/organisations/0193aaaa-0000-7000-8000-000000000000",
            "GET, HEAD, PATCH, DELETE",
        ),
        ("GET", "/api/v1/auth/login", "POST"),
        ("PATCH", "/invitations/some-token", "GET, HEAD"),
    ] {
        let res = send(method, path).await.unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        assert_problem(res, 405, "method-not-allowed").await;
    }
    assert_problem(
        send("GET", "/no/such/path").await.unwrap(),
        404,
        "not-found",
    )
    .await;
    assert_problem(
        send("PUT", "/no/such/path").await.unwrap(),
        404,
        "not-found",
    )
    .await;
    // HEAD is GET without the body.
    let res = send("HEAD", "/healthz").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = send("HEAD", "/api/v1/organisations").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("etag").is_some());
}

#[tokio::test]
async fn a_user_patch_that_changes_nothing_keeps_the_version_and_writes_no_audit_event() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Quiet AS", "pharma").await);
    let user = app
        .create_user(
            &admin,
            "quiet@quiet.test",
            "partner_representative",
            Some(&org),
        )
        .await;
    let path = format!("/api/v1/users/{}", id_of(&user));
    for body in [
        json!({}),
        json!({"display_name": "quiet@quiet.test", "role": "partner_representative",
               "organisation_id": org, "person_id": null, "language": user["language"]}),
    ] {
        let res = app.patch(&path, &admin, Some("\"1\""), &body).await;
        assert_eq!(res.status(), StatusCode::OK, "{body}");
        assert_eq!(res.headers()["etag"], "\"1\"", "{body}");
    }
    let query = format!("action=user.updated&record_id={}", id_of(&user));
    assert!(app.audit_events(&admin, &query).await.is_empty());
    let res = app
        .patch(
            &path,
            &admin,
            Some("\"1\""),
            &json!({"display_name": "Quiet"}),
        )
        .await;
    assert_eq!(res.headers()["etag"], "\"2\"");
    assert_eq!(app.audit_events(&admin, &query).await.len(), 1);
}

#[tokio::test]
async fn preferences_that_change_nothing_write_nothing_and_a_new_language_is_a_new_version() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Prefs", "partner").await;
    let user_path = format!("/api/v1/users/{}", rep.user_id);
    let prefs = app
        .get_ok("/api/v1/me/notification-preferences", &rep.token)
        .await;
    let put = |body: serde_json::Value| {
        let app = &app;
        let token = rep.token.clone();
        async move {
            app.client
                .put(app.url("/api/v1/me/notification-preferences"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(put(prefs.clone()).await.status(), StatusCode::OK);
    let query = format!("action=user.preferences_changed&record_id={}", rep.user_id);
    assert!(app.audit_events(&admin, &query).await.is_empty());
    assert_eq!(app.current_etag(&user_path, &admin).await, "\"1\"");

    // Another language changes the account: a new version, so a cached copy is not "current".
    let mut other = prefs.clone();
    other["language"] = json!(if prefs["language"] == "en" {
        "nb"
    } else {
        "en"
    });
    assert_eq!(put(other.clone()).await.status(), StatusCode::OK);
    assert_eq!(app.current_etag(&user_path, &admin).await, "\"2\"");
    let res = app.get_if_none_match(&user_path, &admin, "\"1\"").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["language"],
        other["language"]
    );
    assert_eq!(app.audit_events(&admin, &query).await.len(), 1);
    // Optional kinds alone leave the account's version as it is.
    let mut quieter = other.clone();
    quieter["membership_changed"] = json!(!other["membership_changed"].as_bool().unwrap());
    assert_eq!(put(quieter).await.status(), StatusCode::OK);
    assert_eq!(app.current_etag(&user_path, &admin).await, "\"2\"");
    assert_eq!(app.audit_events(&admin, &query).await.len(), 2);
}

#[tokio::test]
async fn linking_an_account_to_a_person_makes_a_new_version_of_the_person() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let org = id_of(&app.create_org(&admin, "Linked AS", "pharma").await);
    let person = id_of(
        &app.create_contact(&admin, Some(&org), "Lina", "lina@linked.test")
            .await,
    );
    let person_path = format!("/api/v1/people/{person}");
    let res = app
        .post(
            "/api/v1/users",
            &admin,
            &json!({"email": "lina.login@linked.test", "display_name": "Lina", "role": "partner_representative",
                    "organisation_id": org, "person_id": person, "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user = id_of(&res.json::<serde_json::Value>().await.unwrap());
    // The person now shows the account: a cached copy without it is not current.
    let res = app.get_if_none_match(&person_path, &admin, "\"1\"").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["user_id"],
        user.as_str()
    );
    // Unlinking it too.
    let user_path = format!("/api/v1/users/{user}");
    let res = app
        .patch(
            &user_path,
            &admin,
            Some(&app.current_etag(&user_path, &admin).await),
            &json!({"person_id": null}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let read = app.get(&person_path, &admin).await;
    assert_eq!(etag(&read), "\"3\"");
    assert!(read.json::<serde_json::Value>().await.unwrap()["user_id"].is_null());
}
