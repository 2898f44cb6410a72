//! Invitations end to end, reading the one-time link out of the delivered e-mail.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use connect::schema::invitations as i;
use diesel::prelude::*;

use crate::helpers::*;
use crate::smtp::*;

const NEW_PASSWORD: &str = "my own long passphrase 2026";

async fn accept(app: &TestApp, token: &str, name: &str, password: &str) -> reqwest::Response {
    app.post_anon(
        &format!("/api/v1/invitations/{token}/accept"),
        &json!({"display_name": name, "password": password}),
    )
    .await
}

async fn preview(app: &TestApp, token: &str) -> reqwest::Response {
    app.get_anon(&format!("/api/v1/invitations/{token}")).await
}

#[tokio::test]
async fn the_link_in_the_invitation_e_mail_creates_the_account_once() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Tromsø Pharma", "pharma").await;
    let org_id = id_of(&org);
    app.set_status(&admin, &org_id, "partner").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": " Kari.Nordmann@Tromso.TEST ", "display_name": "Kari", "role": "partner_representative",
                    "organisation_id": org_id, "language": "en"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.headers().get("location").is_some());
    let invitation: Value = res.json().await.unwrap();
    assert_eq!(invitation["email"], "kari.nordmann@tromso.test");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["role"], "partner_representative");
    assert_eq!(invitation["organisation_id"], org_id.as_str());
    assert!(invitation.get("token").is_none(), "{invitation}");

    let mail = smtp
        .wait_for_to("kari.nordmann@tromso.test", 1)
        .await
        .remove(0);
    assert_eq!(mail.subject(), "Invitation to CONNECT for Tromsø Pharma");
    assert!(mail.text().contains("Hello Kari,"));
    assert!(
        mail.text()
            .contains("You will be partner representative for Tromsø Pharma."),
        "{}",
        mail.text()
    );
    let token = mail.link_token("/invitations/");
    let link = format!("{PUBLIC_URL}/invitations/{token}");
    assert!(mail.text().contains(&link), "{}", mail.text());
    assert!(
        html_unescape(mail.html()).contains(&format!("href=\"{link}\"")),
        "{}",
        mail.html()
    );

    // The page behind the link.
    let page = app.get_anon(&format!("/invitations/{token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let ct = page.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.text().await.unwrap().contains("<html"));

    // The preview, without authentication.
    let res = preview(&app, &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let p: Value = res.json().await.unwrap();
    assert_eq!(p["email"], "kari.nordmann@tromso.test");
    assert_eq!(p["display_name"], "Kari");
    assert_eq!(p["role"], "partner_representative");
    assert_eq!(p["organisation_name"], "Tromsø Pharma");
    assert_eq!(p["expires_at"], invitation["expires_at"]);

    // Accepting with a bad choice does not use the link up.
    let res = accept(&app, &token, "Kari Nordmann", "short").await;
    assert_field_error(res, "password", "too_short").await;
    let res = accept(&app, &token, "Kari\r\nBcc: x@y.test", NEW_PASSWORD).await;
    assert_field_error(res, "display_name", "invalid_characters").await;
    assert_eq!(preview(&app, &token).await.status(), StatusCode::OK);

    let res = accept(&app, &token, "  Kari Nordmann  ", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["email"], "kari.nordmann@tromso.test");
    assert_eq!(user["display_name"], "Kari Nordmann");
    assert_eq!(user["role"], "partner_representative");
    assert_eq!(user["organisation_id"], org_id.as_str());
    assert_eq!(user["language"], "en");
    let session = app.login("kari.nordmann@tromso.test", NEW_PASSWORD).await;
    let me = app.me(session["access_token"].as_str().unwrap()).await;
    assert_eq!(me["user"]["id"], user["id"]);

    // The link works once.
    let res = accept(&app, &token, "Someone Else", "another long passphrase 1").await;
    assert_problem(res, 404, "not-found").await;
    assert_problem(preview(&app, &token).await, 404, "not-found").await;
    let listed = app
        .list_items("/api/v1/invitations?status=accepted", &admin)
        .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["user_id"], user["id"]);
    assert!(listed[0]["accepted_at"].is_string());
    // Nothing else was sent (no welcome, no second invitation).
    smtp.assert_quiet(1, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn inviting_again_replaces_the_old_link() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let first = invite(
        &app,
        &admin,
        &json!({"email": "twice@invite.test", "role": "admin", "language": "nb"}),
    )
    .await;
    let old = smtp.wait_for_to("twice@invite.test", 1).await[0].link_token("/invitations/");
    let second = invite(
        &app,
        &admin,
        &json!({"email": "twice@invite.test", "display_name": "Andre Gang", "role": "admin", "language": "en"}),
    )
    .await;
    assert_eq!(second["id"], first["id"], "the open invitation is renewed");
    assert_eq!(second["language"], "en");
    let mails = smtp.wait_for_to("twice@invite.test", 2).await;
    assert_eq!(mails[0].subject(), "Invitasjon til CONNECT");
    assert_eq!(mails[1].subject(), "Invitation to CONNECT");
    assert!(mails[1].text().starts_with("Hello Andre Gang,"));
    let new = mails[1].link_token("/invitations/");
    assert_ne!(old, new);

    assert_problem(preview(&app, &old).await, 404, "not-found").await;
    let res = accept(&app, &old, "Old Link", NEW_PASSWORD).await;
    assert_problem(res, 404, "not-found").await;
    let p: Value = preview(&app, &new).await.json().await.unwrap();
    assert_eq!(p["display_name"], "Andre Gang");
    let res = accept(&app, &new, "New Link", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["role"], "admin");
    assert_eq!(user["language"], "en");
    app.login("twice@invite.test", NEW_PASSWORD).await;
    let all = app
        .list_items("/api/v1/invitations?email=twice@invite.test", &admin)
        .await;
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn a_revoked_invitation_link_answers_404() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let inv = invite(
        &app,
        &admin,
        &json!({"email": "revoked@invite.test", "role": "admin"}),
    )
    .await;
    let token = smtp.wait_for(1).await[0].link_token("/invitations/");
    assert_eq!(preview(&app, &token).await.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/v1/invitations/{}/revoke", id_of(&inv)),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let revoked: Value = res.json().await.unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    assert_problem(preview(&app, &token).await, 404, "not-found").await;
    let res = accept(&app, &token, "Too Late", NEW_PASSWORD).await;
    assert_problem(res, 404, "not-found").await;
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": "revoked@invite.test", "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Revoking again is harmless; an unknown id is 404.
    let res = app
        .post(
            &format!("/api/v1/invitations/{}/revoke", id_of(&inv)),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            "/api/v1/invitations/01937c4e-6666-7000-8000-000000000011/revoke",
            &admin,
            &json!({}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
    // Inviting the address again sends a new, working link.
    invite(
        &app,
        &admin,
        &json!({"email": "revoked@invite.test", "role": "admin"}),
    )
    .await;
    let fresh = smtp.wait_for(2).await[1].link_token("/invitations/");
    assert_ne!(fresh, token);
    assert_eq!(preview(&app, &fresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn admins_list_invitations_by_status_and_only_admins_invite() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Listing Pharma", "partner").await;
    for email in ["a@list.test", "b@list.test", "c@list.test"] {
        invite(&app, &admin, &json!({"email": email, "role": "admin"})).await;
    }
    let mails = smtp.wait_for(3).await;
    let token_of = |email: &str| {
        mails
            .iter()
            .find(|m| m.envelope_to == [email])
            .unwrap()
            .link_token("/invitations/")
    };
    let res = accept(&app, &token_of("a@list.test"), "Anne", NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let b = app
        .list_items("/api/v1/invitations?email=b@list.test", &admin)
        .await;
    let res = app
        .post(
            &format!("/api/v1/invitations/{}/revoke", id_of(&b[0])),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let emails = |items: Vec<Value>| -> Vec<String> {
        items
            .iter()
            .map(|i| i["email"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        emails(app.list_items("/api/v1/invitations", &admin).await),
        ["c@list.test", "b@list.test", "a@list.test"]
    );
    for (status, want) in [
        ("pending", "c@list.test"),
        ("revoked", "b@list.test"),
        ("accepted", "a@list.test"),
    ] {
        let items = app
            .list_items(&format!("/api/v1/invitations?status={status}"), &admin)
            .await;
        assert_eq!(emails(items.clone()), [want], "{status}");
        assert_eq!(items[0]["status"], status);
    }
    assert!(
        app.list_items("/api/v1/invitations?status=expired", &admin)
            .await
            .is_empty()
    );
    // A week later, c's link has expired.
    let mut conn = app.db_conn();
    diesel::update(i::table.filter(i::email.eq("c@list.test")))
        .set(i::expires_at.eq(connect::core::now() - chrono::TimeDelta::seconds(1)))
        .execute(&mut conn)
        .unwrap();
    let expired = app
        .list_items("/api/v1/invitations?status=expired", &admin)
        .await;
    assert_eq!(emails(expired.clone()), ["c@list.test"]);
    assert_eq!(expired[0]["status"], "expired");
    assert!(
        app.list_items("/api/v1/invitations?status=pending", &admin)
            .await
            .is_empty()
    );
    assert_problem(
        preview(&app, &token_of("c@list.test")).await,
        404,
        "not-found",
    )
    .await;
    let page = app.get_ok("/api/v1/invitations?limit=2", &admin).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    assert_eq!(
        emails(
            app.list_items(
                &format!("/api/v1/invitations?limit=2&cursor={cursor}"),
                &admin
            )
            .await
        ),
        ["a@list.test"]
    );
    let res = app.get("/api/v1/invitations?status=lost", &admin).await;
    assert_field_error(res, "status", "invalid_value").await;

    // Representatives may neither list nor invite nor revoke.
    assert_problem(
        app.get("/api/v1/invitations", &rep.token).await,
        403,
        "forbidden",
    )
    .await;
    let res = app
        .post(
            "/api/v1/invitations",
            &rep.token,
            &json!({"email": "d@list.test", "role": "partner_representative", "organisation_id": rep.organisation_id}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            &format!("/api/v1/invitations/{}/revoke", id_of(&b[0])),
            &rep.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_eq!(
        app.get_anon("/api/v1/invitations").await.status(),
        StatusCode::UNAUTHORIZED
    );
    smtp.assert_quiet(3, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn inviting_an_existing_account_or_an_invalid_one_is_refused_and_sends_nothing() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Existing Pharma", "partner").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": rep.email.to_uppercase(), "role": "partner_representative", "organisation_id": rep.organisation_id}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": ADMIN_EMAIL, "role": "admin"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    // A representative needs an organisation; an admin has none.
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "new@rep.test", "role": "partner_representative"}),
        )
        .await;
    assert_field_error(res, "organisation_id", "required").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "new@admin.test", "role": "admin", "organisation_id": rep.organisation_id}),
        )
        .await;
    assert_field_error(res, "organisation_id", "not_applicable").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "not-an-address", "role": "admin"}),
        )
        .await;
    assert_field_error(res, "email", "invalid_format").await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "x@lang.test", "role": "admin", "language": "de"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 422);
    assert!(
        app.list_items("/api/v1/invitations", &admin)
            .await
            .is_empty()
    );
    assert!(notifications(&app, &admin, "").await.is_empty());
    smtp.assert_quiet(0, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn unknown_invitation_links_answer_404_and_too_many_bad_ones_429() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    invite(
        &app,
        &admin,
        &json!({"email": "patient@guess.test", "role": "admin"}),
    )
    .await;
    let token = smtp.wait_for(1).await[0].link_token("/invitations/");
    for i in 0..30 {
        let res = preview(&app, &format!("guessed-token-{i}")).await;
        assert_problem(res, 404, "not-found").await;
    }
    let res = preview(&app, "guessed-token-31").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "too-many-requests").await;
    // Even a good link waits now: guessing is not rewarded.
    let res = accept(&app, &token, "Patient", NEW_PASSWORD).await;
    assert_problem(res, 429, "too-many-requests").await;
}

#[tokio::test]
async fn an_invitation_link_used_five_times_at_once_creates_one_account() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    invite(
        &app,
        &admin,
        &json!({"email": "race@invite.test", "role": "admin"}),
    )
    .await;
    let token = smtp.wait_for(1).await[0].link_token("/invitations/");
    let names: Vec<String> = (0..5).map(|i| format!("Racer {i}")).collect();
    let calls = names
        .iter()
        .map(|name| accept(&app, &token, name, NEW_PASSWORD));
    let statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 404),
        "{statuses:?}"
    );
    let users = app
        .list_items("/api/v1/users?q=race@invite.test", &admin)
        .await;
    assert_eq!(users.len(), 1, "{users:?}");
    app.login("race@invite.test", NEW_PASSWORD).await;
}

#[tokio::test]
async fn the_invitation_page_is_in_the_invitations_language_with_the_other_a_click_away() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "ola@bokmal.test", "display_name": "Ola", "role": "admin", "language": "nb"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mail = smtp.wait_for_to("ola@bokmal.test", 1).await.remove(0);
    let token = mail.link_token("/invitations/");
    let app = &app;
    let page = |query: &'static str| {
        let path = format!("/invitations/{token}{query}");
        async move { app.get_anon(&path).await.text().await.unwrap() }
    };
    let nb = page("").await;
    assert!(nb.contains("<html lang=\"nb\">"), "{nb}");
    assert!(nb.contains("Opprett kontoen min"), "{nb}");
    assert!(nb.contains("href=\"?lang=en\""), "{nb}");
    let en = page("?lang=en").await;
    assert!(en.contains("<html lang=\"en\">"), "{en}");
    assert!(en.contains("Create my account"), "{en}");
    assert!(en.contains("href=\"?lang=nb\""), "{en}");
}
