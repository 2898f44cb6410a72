//! Password reset end to end, reading the one-time link out of the delivered e-mail.

use std::time::Duration;

use chrono::TimeDelta;
use connect::schema::password_resets as pr;
use diesel::prelude::*;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp::*;

const NEW_PASSWORD: &str = "a fresh and private passphrase";

async fn ask_reset(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_anon("/api/v1/auth/password-reset", &json!({"email": email}))
        .await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_anon(
        "/api/v1/auth/password-reset/confirm",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

/// A representative with `language`; returns (user id, email).
async fn user_with_language(app: &TestApp, admin: &str, email: &str, language: &str) -> String {
    let org = app
        .create_org(admin, &format!("Org of {email}"), "pharma")
        .await;
    let res = app
        .post(
            "/api/v1/users",
            admin,
            &json!({"email": email, "display_name": "Reset Person", "role": "partner_representative",
                    "organisation_id": id_of(&org), "password": USER_PASSWORD, "language": language}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    id_of(&user)
}

#[tokio::test]
async fn the_link_in_the_reset_e_mail_sets_a_new_password_and_ends_every_session() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "reset@person.test";
    user_with_language(&app, &admin, email, "en").await;
    let first = app.login(email, USER_PASSWORD).await;
    let second = app.login(email, USER_PASSWORD).await;
    let access = first["access_token"].as_str().unwrap();
    app.me(access).await;

    let res = ask_reset(&app, " RESET@Person.test ").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert!(res.text().await.unwrap().is_empty());
    let mail = smtp.wait_for_to(email, 1).await.remove(0);
    assert_eq!(mail.subject(), "Reset your CONNECT password");
    assert!(mail.text().starts_with("Hello Reset Person,"));
    assert!(mail.text().contains("within 60 minutes"), "{}", mail.text());
    assert!(mail.html().contains("lang=\"en\""));
    let token = mail.link_token("/password-reset/");

    // The page behind the link.
    let page = app.get_anon(&format!("/password-reset/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let ct = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(page.headers()["cache-control"], "no-store");

    // A password that breaks the rules is refused without using the link up; a wrong link is 404.
    let res = confirm(&app, &token, "short").await;
    assert_field_error(res, "new_password", "too_short").await;
    let res = confirm(&app, "not-the-token", NEW_PASSWORD).await;
    assert_problem(res, 404, "not-found").await;
    let res = confirm(&app, &token, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The old password fails, the new one works.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": email, "password": USER_PASSWORD}),
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let fresh = app.login(email, NEW_PASSWORD).await;
    app.me(fresh["access_token"].as_str().unwrap()).await;
    // Every earlier session ended: refresh tokens and access tokens alike.
    for old in [&first, &second] {
        let res = app
            .post_anon(
                "/api/v1/auth/refresh",
                &json!({"refresh_token": old["refresh_token"]}),
            )
            .await;
        assert_problem(res, 401, "unauthenticated").await;
        let res = app
            .get("/api/v1/me", old["access_token"].as_str().unwrap())
            .await;
        assert_problem(res, 401, "unauthenticated").await;
    }
    // The link works once.
    let res = confirm(&app, &token, "yet another long passphrase").await;
    assert_problem(res, 404, "not-found").await;
    app.login(email, NEW_PASSWORD).await;

    // The owner is told the password changed.
    let changed = smtp.wait_for_to(email, 2).await.remove(1);
    assert_eq!(changed.subject(), "Your CONNECT password was changed");
    assert!(changed.text().contains("your other sessions were ended"));
    smtp.assert_quiet(2, Duration::from_millis(300)).await;
    let audit = app.audit_events(&admin, "action=user.password_reset").await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn using_one_reset_link_voids_the_others_and_expired_links_are_404() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "nb@reset.test";
    let user_id = user_with_language(&app, &admin, email, "nb").await;
    for _ in 0..2 {
        assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    }
    let mails = smtp.wait_for_to(email, 2).await;
    assert_eq!(mails[0].subject(), "Tilbakestill passordet ditt i CONNECT");
    assert!(mails[0].text().starts_with("Hei Reset Person,"));
    assert!(mails[0].text().contains("innen 60 minutter"));
    let a = mails[0].link_token("/password-reset/");
    let b = mails[1].link_token("/password-reset/");
    assert_ne!(a, b);
    let res = confirm(&app, &b, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = confirm(&app, &a, "yet another long passphrase").await;
    assert_problem(res, 404, "not-found").await;
    let changed = smtp.wait_for_to(email, 3).await.remove(2);
    assert_eq!(changed.subject(), "Passordet ditt i CONNECT er endret");
    assert!(changed.text().contains("du er logget ut av andre økter"));

    // A link older than an hour no longer works.
    assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    let late = smtp.wait_for_to(email, 4).await[3].link_token("/password-reset/");
    let mut conn = app.db_conn();
    let expired = diesel::update(
        pr::table
            .filter(pr::user_id.eq(&user_id))
            .filter(pr::used_at.is_null()),
    )
    .set(pr::expires_at.eq(connect::core::now() - TimeDelta::seconds(1)))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(expired, 1);
    let res = confirm(&app, &late, "yet another long passphrase").await;
    assert_problem(res, 404, "not-found").await;
    app.login(email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_unknown_or_inactive_address_gets_the_same_202_and_no_message() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let inactive = user_with_language(&app, &admin, "inactive@reset.test", "nb").await;
    let res = app
        .post(
            &format!("/api/v1/users/{inactive}/deactivate"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    user_with_language(&app, &admin, "known@reset.test", "en").await;
    for email in ["nobody@reset.test", "inactive@reset.test", "not an address"] {
        let res = ask_reset(&app, email).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "{email}");
        assert!(res.text().await.unwrap().is_empty());
    }
    // The known one, asked last, arrives; the others never do.
    assert_eq!(
        ask_reset(&app, "known@reset.test").await.status(),
        StatusCode::ACCEPTED
    );
    smtp.wait_for_to("known@reset.test", 1).await;
    smtp.assert_quiet(1, Duration::from_millis(400)).await;
    let queued = notifications(&app, &admin, "kind=password_reset").await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["recipient_email"], "known@reset.test");
    let res = app
        .post_anon(
            "/api/v1/auth/password-reset",
            &json!({"email": "x@y.test", "extra": 1}),
        )
        .await;
    assert_problem(res, 422, "validation-failed").await;
}

#[tokio::test]
async fn an_address_that_asks_too_often_gets_429() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    for i in 0..30 {
        let res = ask_reset(&app, &format!("unknown{i}@reset.test")).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "request {}", i + 1);
    }
    let res = ask_reset(&app, "unknown30@reset.test").await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    assert_problem(res, 429, "too-many-requests").await;
    smtp.assert_quiet(0, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn an_account_gets_at_most_three_reset_messages_an_hour() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "often@reset.test";
    let user_id = user_with_language(&app, &admin, email, "en").await;
    // Six requests at once: they all answer 202, three messages go.
    let statuses: Vec<u16> = join_all((0..6).map(|_| ask_reset(&app, email)))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(statuses, [202; 6]);
    let mails = smtp.wait_for_to(email, 3).await;
    assert!(
        mails
            .iter()
            .all(|m| m.subject() == "Reset your CONNECT password")
    );
    smtp.assert_quiet(3, Duration::from_millis(500)).await;
    assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    smtp.assert_quiet(3, Duration::from_millis(300)).await;
    let mut conn = app.db_conn();
    let links: i64 = pr::table
        .filter(pr::user_id.eq(&user_id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(links, 3);
    assert_eq!(
        notifications(&app, &admin, "kind=password_reset")
            .await
            .len(),
        3
    );
    // Each of the three links works (until one is used).
    let tokens: Vec<String> = mails
        .iter()
        .map(|m| m.link_token("/password-reset/"))
        .collect();
    assert_eq!(
        tokens
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );
    let res = confirm(&app, &tokens[2], NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_reset_link_used_five_times_at_once_works_once() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "race@reset.test";
    user_with_language(&app, &admin, email, "en").await;
    assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    let token = smtp.wait_for_to(email, 1).await[0].link_token("/password-reset/");
    let passwords: Vec<String> = (0..5)
        .map(|i| format!("racing passphrase number {i}"))
        .collect();
    let statuses: Vec<u16> = join_all(passwords.iter().map(|p| confirm(&app, &token, p)))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 204 || *s == 404),
        "{statuses:?}"
    );
    let winner = statuses.iter().position(|s| *s == 204).unwrap();
    app.login(email, &passwords[winner]).await;
    // One "password changed" message, not five.
    smtp.wait_for_to(email, 2).await;
    smtp.assert_quiet(2, Duration::from_millis(400)).await;
}

#[tokio::test]
async fn changing_the_password_voids_reset_links_sent_before() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "changer@reset.test";
    user_with_language(&app, &admin, email, "en").await;
    assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    let link = smtp.wait_for_to(email, 1).await[0].link_token("/password-reset/");

    let session = app.login(email, USER_PASSWORD).await;
    let token = session["access_token"].as_str().unwrap();
    let res = app
        .post(
            "/api/v1/me/password",
            token,
            &json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The link from before the change no longer works, and the new password stands.
    let res = confirm(&app, &link, "a link from before the change").await;
    assert_problem(res, 404, "not-found").await;
    app.login(email, NEW_PASSWORD).await;
}

#[tokio::test]
async fn guessing_the_current_password_is_throttled_like_a_login() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let email = "guessed@reset.test";
    let org = app.create_org(&admin, "Guessed AS", "pharma").await;
    app.create_user(&admin, email, "partner_representative", Some(&id_of(&org)))
        .await;
    let session = app.login(email, USER_PASSWORD).await;
    let token = session["access_token"].as_str().unwrap();
    let guess = |pwd: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/me/password",
                token,
                &json!({"current_password": pwd, "new_password": NEW_PASSWORD}),
            )
            .await
        }
    };
    for _ in 0..5 {
        assert_field_error(guess("wrong guess").await, "current_password", "incorrect").await;
    }
    // Locked now: even the right password is refused, with Retry-After, and so is a login.
    let res = guess(USER_PASSWORD).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "too-many-requests").await;
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": email, "password": USER_PASSWORD}),
        )
        .await;
    assert_problem(res, 429, "too-many-requests").await;
}

#[tokio::test]
async fn the_reset_page_is_in_the_accounts_language() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let email = "kari@bokmal.test";
    user_with_language(&app, &admin, email, "nb").await;
    assert_eq!(ask_reset(&app, email).await.status(), StatusCode::ACCEPTED);
    let mail = smtp.wait_for_to(email, 1).await.remove(0);
    let token = mail.link_token("/password-reset/");
    let nb = app
        .get_anon(&format!("/password-reset/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(nb.contains("<html lang=\"nb\">"), "{nb}");
    assert!(nb.contains("Lagre det nye passordet"), "{nb}");
    assert!(nb.contains("href=\"?lang=en\""), "{nb}");
    let en = app
        .get_anon(&format!("/password-reset/{token}?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(en.contains("Save the new password"), "{en}");
}
