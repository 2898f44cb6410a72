//! E-mail notifications through a real SMTP server (see `smtp.rs`): headers, languages and
//! alternatives, retries and failures, a dead worker's claims, two instances on one outbox, who is
//! told of what, the outbox API, `.eml` files without SMTP, and the metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, TimeDelta, Utc};
use connect::db::{DbConn, write_tx};
use connect::notifications::{Kind, Language, Mailer, Recipient, enqueue};
use connect::schema::notifications as n;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::smtp::*;

/// Queues `count` "password changed" messages to `bulk<i>@outbox.test` straight into the
/// outbox of `conn`'s database, in one transaction; returns their ids.
fn enqueue_bulk(conn: &mut DbConn, first: usize, count: usize) -> Vec<String> {
    let mailer = Mailer::new(PUBLIC_URL, MAIL_FROM).unwrap();
    write_tx(conn, |conn| {
        let mut ids = Vec::new();
        for i in first..first + count {
            let to = Recipient {
                email: format!("bulk{i}@outbox.test"),
                name: Some(format!("Bulk {i}")),
                user_id: None,
                language: if i % 2 == 0 {
                    Language::Nb
                } else {
                    Language::En
                },
            };
            let id = enqueue(
                conn,
                &mailer,
                Kind::PasswordChanged,
                &to,
                json!({"changed_at": "2026-11-23 10:15 UTC"}),
            )?
            .expect("security messages are always queued");
            ids.push(id);
        }
        Ok(ids)
    })
    .unwrap()
}

/// (id, state, attempts, claimed_by, message_id) of every stored notification.
type OutboxRow = (String, String, i32, Option<String>, String);

fn outbox(conn: &mut DbConn) -> Vec<OutboxRow> {
    n::table
        .order(n::id.asc())
        .select((n::id, n::state, n::attempts, n::claimed_by, n::message_id))
        .load(conn)
        .unwrap()
}

#[tokio::test]
async fn messages_arrive_with_correct_headers_in_both_languages_and_both_alternatives() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let nb_org = app
        .create_org(&admin, "Sykehuset Østfold <b>HF</b>", "hospital")
        .await;
    let en_org = app
        .create_org(&admin, "Roche & <i>Norge</i> AS", "pharma")
        .await;
    let nb = invite(
        &app,
        &admin,
        &json!({"email": "kari@ostfold.test", "display_name": "Kari Ærlig", "role": "partner_representative",
                "organisation_id": nb_org["id"], "language": "nb"}),
    )
    .await;
    let en = invite(
        &app,
        &admin,
        &json!({"email": "ola@roche.test", "display_name": "Ola Normann", "role": "partner_representative",
                "organisation_id": en_org["id"], "language": "en"}),
    )
    .await;
    assert_eq!(nb["language"], "nb");
    assert_eq!(en["language"], "en");

    let nb_mail = smtp.wait_for_to("kari@ostfold.test", 1).await.remove(0);
    let en_mail = smtp.wait_for_to("ola@roche.test", 1).await.remove(0);
    for m in [&nb_mail, &en_mail] {
        assert_eq!(m.raw_header("From"), Some(MAIL_FROM), "{}", m.raw);
        assert_eq!(m.envelope_from, "no-reply@connect.test");
        assert_eq!(m.raw_header("MIME-Version"), Some("1.0"));
        assert!(m.raw_header("Date").is_some());
        assert_eq!(m.content_type(), "multipart/alternative", "{}", m.raw);
        let types: Vec<String> = m.parts.iter().map(Part::media_type).collect();
        assert_eq!(types, ["text/plain", "text/html"], "{}", m.raw);
        for p in &m.parts {
            let ct = p.header("Content-Type").unwrap();
            assert_eq!(param(ct, "charset").as_deref(), Some("utf-8"), "{ct}");
        }
        // The raw message is 7-bit: every non-ASCII character travels encoded.
        assert!(m.raw.is_ascii(), "{}", m.raw);
        assert!(
            m.message_id().starts_with('<') && m.message_id().ends_with("@connect.test>"),
            "{}",
            m.message_id()
        );
    }
    assert_eq!(nb_mail.envelope_to, ["kari@ostfold.test"]);
    assert_eq!(
        nb_mail.header("To").as_deref(),
        Some("Kari Ærlig <kari@ostfold.test>")
    );
    assert_eq!(en_mail.envelope_to, ["ola@roche.test"]);
    assert!(
        en_mail.header("To").unwrap().contains("Ola Normann")
            && en_mail.header("To").unwrap().contains("<ola@roche.test>"),
        "{:?}",
        en_mail.header("To")
    );

    // Subjects: in the recipient's language; a Norwegian letter travels as an RFC 2047 word;
    // values are not HTML-escaped in a subject and never break the header.
    assert_eq!(
        nb_mail.subject(),
        "Invitasjon til CONNECT for Sykehuset Østfold <b>HF</b>"
    );
    let raw_subject = nb_mail.raw_header("Subject").unwrap();
    assert!(raw_subject.contains("=?utf-8?"), "{raw_subject}");
    assert!(!raw_subject.contains('Ø'));
    assert_eq!(
        en_mail.subject(),
        "Invitation to CONNECT for Roche & <i>Norge</i> AS"
    );

    // Text: the values as they are. HTML: the values escaped, and the right `lang`.
    assert!(
        nb_mail.text().starts_with("Hei Kari Ærlig,"),
        "{}",
        nb_mail.text()
    );
    assert!(
        nb_mail
            .text()
            .contains("Du får rollen partnerrepresentant for Sykehuset Østfold <b>HF</b>."),
        "{}",
        nb_mail.text()
    );
    assert!(nb_mail.html().contains("<html lang=\"nb\">"));
    assert!(nb_mail.html().contains("<p>Hei Kari Ærlig,</p>"));
    assert!(
        nb_mail.html().contains("Sykehuset Østfold &lt;b&gt;HF&lt;"),
        "{}",
        nb_mail.html()
    );
    assert!(!nb_mail.html().contains("<b>HF"), "{}", nb_mail.html());
    assert!(en_mail.text().starts_with("Hello Ola Normann,"));
    assert!(
        en_mail
            .text()
            .contains("You will be partner representative for Roche & <i>Norge</i> AS."),
        "{}",
        en_mail.text()
    );
    assert!(en_mail.html().contains("<html lang=\"en\">"));
    assert!(
        en_mail
            .html()
            .contains("Roche &amp; &lt;i&gt;Norge&lt;&#x2f;i&gt; AS"),
        "{}",
        en_mail.html()
    );
    assert!(!en_mail.html().contains("<i>Norge"));
    // Both alternatives carry the same one-time link.
    let nb_token = nb_mail.link_token("/invitations/");
    let en_token = en_mail.link_token("/invitations/");
    assert_ne!(nb_token, en_token);
    assert!(nb_token.len() >= 40, "{nb_token}");

    // The Message-ID is the one the outbox shows, and the API's subject is the decoded one.
    for (m, email) in [
        (&nb_mail, "kari@ostfold.test"),
        (&en_mail, "ola@roche.test"),
    ] {
        let n = wait_for_state(&app, &admin, &m.notification_id(), "sent").await;
        assert_eq!(n["message_id"], m.message_id());
        assert_eq!(n["recipient_email"], email);
        assert_eq!(n["subject"], m.subject());
        assert_eq!(n["kind"], "invitation");
        assert_eq!(n["attempts"], 1);
        assert!(n["sent_at"].is_string());
    }
    assert_eq!(smtp.messages().len(), 2);
}

#[tokio::test]
async fn a_server_refusing_with_4xx_then_accepting_gets_the_message_once_after_a_retry() {
    let smtp = SmtpServer::start_with(Mode::TempFailFirst(1));
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    invite(
        &app,
        &admin,
        &json!({"email": "retry@later.test", "role": "admin", "language": "en"}),
    )
    .await;
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(smtp.refused_codes(), [451]);
    let n = wait_for_state(&app, &admin, &mail.notification_id(), "sent").await;
    assert_eq!(n["attempts"], 2, "{n}");
    assert_eq!(n["last_error"], Value::Null, "{n}");
    let listed = notifications(&app, &admin, "state=sent").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["attempts"], 2);
    // Refused once, delivered once: nothing more arrives.
    smtp.assert_quiet(1, Duration::from_millis(400)).await;
    assert_eq!(smtp.refused_codes(), [451]);
    // The retry carried the same Message-ID as the refused attempt.
    let refused: Vec<String> = smtp.refused().iter().map(Mail::message_id).collect();
    assert_eq!(refused, [mail.message_id()]);
}

#[tokio::test]
async fn transient_failures_give_up_after_the_last_attempt() {
    let smtp = SmtpServer::start_with(Mode::TempFailFirst(usize::MAX));
    let app = spawn_mail_app_with(&smtp, &[("CONNECT_MAIL_MAX_ATTEMPTS", "3")]).await;
    let admin = app.admin_token().await;
    invite(
        &app,
        &admin,
        &json!({"email": "busy@server.test", "role": "admin"}),
    )
    .await;
    smtp.wait_for_refusals(3).await;
    let id = eventually("the failed notification", || async {
        notifications(&app, &admin, "state=failed")
            .await
            .first()
            .map(|n| n["id"].as_str().unwrap().to_owned())
    })
    .await;
    let n = wait_for_state(&app, &admin, &id, "failed").await;
    assert_eq!(n["attempts"], 3, "{n}");
    let error = n["last_error"].as_str().unwrap();
    assert!(error.contains("gave up after 3 attempts"), "{error}");
    assert!(error.contains("451"), "{error}");
    smtp.assert_quiet(0, Duration::from_millis(300)).await;
    assert_eq!(smtp.refused_codes(), [451, 451, 451]);
}

#[tokio::test]
async fn a_5xx_fails_at_once_and_an_admin_can_put_it_back() {
    let smtp = SmtpServer::start_with(Mode::RejectAll);
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let rep = app.rep(&admin, "Retry Pharma", "partner").await;
    invite(
        &app,
        &admin,
        &json!({"email": "refused@mailbox.test", "role": "admin"}),
    )
    .await;
    smtp.wait_for_refusals(1).await;
    let id = eventually("the failed notification", || async {
        notifications(&app, &admin, "state=failed")
            .await
            .first()
            .map(|n| n["id"].as_str().unwrap().to_owned())
    })
    .await;
    let failed = wait_for_state(&app, &admin, &id, "failed").await;
    assert_eq!(failed["attempts"], 1, "{failed}");
    let error = failed["last_error"].as_str().unwrap();
    assert!(error.contains("554"), "{error}");
    // No retry of a permanent error.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.refused_codes(), [554]);
    assert_eq!(
        app.get_ok(&format!("/api/v1/notifications/{id}"), &admin)
            .await["attempts"],
        1
    );

    let retry = format!("/api/v1/notifications/{id}/retry");
    assert_problem(
        app.post(&retry, &rep.token, &json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let unknown = "/api/v1/notifications/01937c4e-5555-7000-8000-0000000000ff/retry";
    assert_problem(
        app.post(unknown, &admin, &json!({})).await,
        404,
        "not-found",
    )
    .await;
    smtp.set_mode(Mode::Accept);
    let res = app.post(&retry, &admin, &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let queued: Value = res.json().await.unwrap();
    assert!(
        queued["state"] == "pending" || queued["state"] == "sending" || queued["state"] == "sent",
        "{queued}"
    );
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.notification_id(), id);
    let sent = wait_for_state(&app, &admin, &id, "sent").await;
    assert_eq!(sent["attempts"], 1, "{sent}");
    assert_eq!(sent["last_error"], Value::Null);
    assert_eq!(sent["message_id"], failed["message_id"]);
    // Only failed messages can be put back.
    assert_problem(app.post(&retry, &admin, &json!({})).await, 409, "conflict").await;
    smtp.assert_quiet(1, Duration::from_millis(300)).await;
    let audit = app
        .audit_events(&admin, "action=notification.retried")
        .await;
    assert_eq!(audit.len(), 1);
}

#[tokio::test]
async fn a_worker_killed_mid_batch_loses_nothing() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app_with(&smtp, &[("CONNECT_MAIL_CLAIM_TIMEOUT_SECS", "1")]).await;
    let started = Instant::now();
    let mut conn = app.db_conn();
    // One batch of ten claimed by a worker that then died: it had sent four, six were in
    // flight (one of them claimed just now). They go straight in as claimed, so the live
    // worker never saw them pending.
    let mailer = Mailer::new(PUBLIC_URL, MAIL_FROM).unwrap();
    let dead = "worker-dead";
    let ids = write_tx(&mut conn, |conn| {
        let mut ids = Vec::new();
        for i in 0..10 {
            let to = Recipient {
                email: format!("batch{i}@outbox.test"),
                name: None,
                user_id: None,
                language: Language::En,
            };
            let id = enqueue(
                conn,
                &mailer,
                Kind::PasswordChanged,
                &to,
                json!({"changed_at": "now"}),
            )?
            .unwrap();
            ids.push(id);
        }
        let t = connect::core::now();
        let long_ago = t - TimeDelta::minutes(10);
        diesel::update(n::table.filter(n::id.eq_any(ids[..4].to_vec())))
            .set((
                n::state.eq("sent"),
                n::attempts.eq(1),
                n::claimed_by.eq(dead),
                n::claimed_at.eq(long_ago),
                n::sent_at.eq(long_ago),
            ))
            .execute(conn)?;
        diesel::update(n::table.filter(n::id.eq_any(ids[4..9].to_vec())))
            .set((
                n::state.eq("sending"),
                n::attempts.eq(1),
                n::claimed_by.eq(dead),
                n::claimed_at.eq(long_ago),
            ))
            .execute(conn)?;
        diesel::update(n::table.filter(n::id.eq(&ids[9])))
            .set((
                n::state.eq("sending"),
                n::attempts.eq(1),
                n::claimed_by.eq(dead),
                n::claimed_at.eq(t),
            ))
            .execute(conn)?;
        Ok(ids)
    })
    .unwrap();

    // The fresh claim is left alone until the claim timeout (1 s) has passed.
    smtp.wait_for_to("batch9@outbox.test", 1).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "a fresh claim was taken over after {:?}",
        started.elapsed()
    );
    let mails = smtp.wait_for(6).await;
    smtp.assert_quiet(6, Duration::from_millis(400)).await;
    let got: BTreeSet<String> = mails.iter().map(Mail::notification_id).collect();
    let want: BTreeSet<String> = ids[4..].iter().cloned().collect();
    assert_eq!(got, want, "exactly the unsent ones, each once");
    for m in &mails {
        assert_eq!(m.message_id(), mailer.message_id(&m.notification_id()));
    }
    let rows = eventually("every row sent", || {
        let rows = outbox(&mut conn);
        async move { rows.iter().all(|r| r.1 == "sent").then_some(rows) }
    })
    .await;
    for (id, _, attempts, claimed_by, _) in rows {
        let i = ids.iter().position(|x| *x == id).unwrap();
        if i < 4 {
            assert_eq!((attempts, claimed_by.as_deref()), (1, Some(dead)));
        } else {
            assert_eq!(attempts, 2, "row {i}");
            let by = claimed_by.unwrap();
            assert!(by != dead && by.starts_with("worker-"), "{by}");
        }
    }
}

/// Two workers claiming side by side is what `FOR UPDATE SKIP LOCKED` on PostgreSQL is for; on
/// SQLite one writer at a time takes turns.
#[tokio::test]
#[ignore = "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres cargo test -- --include-ignored"]
async fn two_instances_drain_one_outbox_of_500_messages_exactly_once() {
    require_postgres();
    let smtp = SmtpServer::start();
    let a = spawn_mail_app(&smtp).await;
    let owned = smtp.settings();
    let settings: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let b = a.second_instance_with(&settings).await;
    // Both workers are polling; the rows arrive while they run, in ten transactions.
    let mut conn = a.db_conn();
    let ids = tokio::task::spawn_blocking(move || {
        let mut ids = Vec::new();
        for chunk in 0..10 {
            ids.extend(enqueue_bulk(&mut conn, chunk * 50, 50));
        }
        ids
    })
    .await
    .unwrap();
    assert_eq!(ids.len(), 500);

    let mails = smtp.wait_for_within(500, Duration::from_secs(60)).await;
    smtp.assert_quiet(500, Duration::from_millis(500)).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mails {
        *seen.entry(m.message_id()).or_default() += 1;
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(duplicates.is_empty(), "sent twice: {duplicates:?}");
    assert_eq!(seen.len(), 500);

    let mut conn = a.db_conn();
    let rows = eventually("every row recorded as sent", || {
        let rows = outbox(&mut conn);
        async move { rows.iter().all(|r| r.1 == "sent").then_some(rows) }
    })
    .await;
    assert_eq!(rows.len(), 500);
    let stored: BTreeSet<String> = rows.iter().map(|r| r.4.clone()).collect();
    let received: BTreeSet<String> = seen.into_keys().collect();
    assert_eq!(stored, received);
    assert!(rows.iter().all(|r| r.2 == 1), "a message was claimed twice");
    let workers: BTreeSet<&str> = rows.iter().filter_map(|r| r.3.as_deref()).collect();
    assert_eq!(workers.len(), 2, "both instances took part: {workers:?}");
    drop(b);
}

/// A representative of `org_id` with `language`, logged in: (user id, token).
async fn rep_in(
    app: &TestApp,
    admin: &str,
    org_id: &str,
    email: &str,
    language: &str,
) -> (String, String) {
    let res = app
        .post(
            "/api/v1/users",
            admin,
            &json!({"email": email, "display_name": format!("Rep {language}"), "role": "partner_representative",
                    "organisation_id": org_id, "password": USER_PASSWORD, "language": language}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let user: Value = res.json().await.unwrap();
    let token = app.login(email, USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (id_of(&user), token)
}

async fn set_preferences(app: &TestApp, token: &str, body: &Value) {
    let res = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/me/notification-preferences",
            token,
            None,
            Some(body),
        )
        .await;
    let status = res.status();
    let saved: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{saved}");
    // What was sent comes back; kinds left out read as on.
    for (key, value) in saved.as_object().unwrap() {
        assert_eq!(body.get(key).unwrap_or(&json!(true)), value, "{key}");
    }
}

#[tokio::test]
async fn representatives_hear_of_membership_changes_in_their_language_unless_opted_out() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Bærum Biotek", "biotech").await;
    let org_id = id_of(&org);
    rep_in(&app, &admin, &org_id, "nb@baerum.test", "nb").await;
    rep_in(&app, &admin, &org_id, "en@baerum.test", "en").await;
    let (_, quiet) = rep_in(&app, &admin, &org_id, "quiet@baerum.test", "nb").await;
    let (gone_id, _) = rep_in(&app, &admin, &org_id, "gone@baerum.test", "en").await;
    set_preferences(
        &app,
        &quiet,
        &json!({"language": "en", "membership_changed": false}),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/users/{gone_id}/deactivate"),
            &admin,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // Another organisation's representative hears nothing of it.
    app.rep(&admin, "Other Pharma", "partner").await;

    app.change_status(&admin, &org_id, "observer", "2024-03-01")
        .await;
    let nb = smtp.wait_for_to("nb@baerum.test", 1).await.remove(0);
    let en = smtp.wait_for_to("en@baerum.test", 1).await.remove(0);
    assert_eq!(
        nb.subject(),
        "Bærum Biotek: medlemskapet i CONNECT er endret"
    );
    assert!(
        nb.text()
            .contains("er endret fra ikke medlem til observatør med virkning fra 2024-03-01"),
        "{}",
        nb.text()
    );
    assert!(nb.html().contains("lang=\"nb\""));
    assert!(nb.html().contains("<strong>observatør</strong>"));
    assert_eq!(en.subject(), "Bærum Biotek: CONNECT membership changed");
    assert!(
        en.text()
            .contains("has changed from not a member to observer, effective 2024-03-01"),
        "{}",
        en.text()
    );
    assert!(
        en.text()
            .contains("read the consortium's work but not change it")
    );
    assert!(en.html().contains("lang=\"en\""));
    smtp.assert_quiet(2, Duration::from_millis(400)).await;
    // Nothing was even queued for the one who opted out or the deactivated one.
    let queued = notifications(&app, &admin, "kind=membership_changed").await;
    let to: BTreeSet<&str> = queued
        .iter()
        .map(|n| n["recipient_email"].as_str().unwrap())
        .collect();
    assert_eq!(to, BTreeSet::from(["nb@baerum.test", "en@baerum.test"]));
    assert!(queued.iter().all(|n| n["recipient_user_id"].is_string()));

    // Opting back in works for the next change.
    set_preferences(
        &app,
        &quiet,
        &json!({"language": "en", "membership_changed": true}),
    )
    .await;
    app.change_status(&admin, &org_id, "partner", "2024-06-01")
        .await;
    let back = smtp.wait_for_to("quiet@baerum.test", 1).await.remove(0);
    assert_eq!(back.subject(), "Bærum Biotek: CONNECT membership changed");
    assert!(back.text().contains("from observer to partner"));
    assert!(back.text().contains("you now have partner rights"));
    smtp.wait_for(5).await;
    smtp.assert_quiet(5, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn users_hear_of_password_and_role_changes_even_when_opted_out() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Lillestrøm Pharma", "pharma").await;
    let org_id = id_of(&org);
    app.set_status(&admin, &org_id, "partner").await;
    let (en_id, en_token) = rep_in(&app, &admin, &org_id, "en@lillestrom.test", "en").await;
    let (nb_id, _) = rep_in(&app, &admin, &org_id, "nb@lillestrom.test", "nb").await;
    let all_off = json!({
        "language": "en", "membership_changed": false, "agreement_status_changed": false,
        "cap_threshold": false, "cohort_stage_changed": false, "evaluations_due": false,
        "vote_opened": false, "vote_reminder": false, "vote_result": false,
        "meeting_reminder": false, "action_item_due": false,
    });
    set_preferences(&app, &en_token, &all_off).await;
    assert_eq!(
        app.get_ok("/api/v1/me/notification-preferences", &en_token)
            .await,
        all_off
    );

    // The password, changed by its owner.
    let res = app
        .post(
            "/api/v1/me/password",
            &en_token,
            &json!({"current_password": USER_PASSWORD, "new_password": "a brand new passphrase 42"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let changed = smtp.wait_for_to("en@lillestrom.test", 1).await.remove(0);
    assert_eq!(changed.subject(), "Your CONNECT password was changed");
    assert!(
        changed
            .text()
            .contains("The password of your CONNECT account was changed at")
    );
    assert!(changed.text().contains("your other sessions were ended"));

    // The role, changed by an admin: told in each user's language.
    for id in [&en_id, &nb_id] {
        let path = format!("/api/v1/users/{id}");
        let res = app
            .patch(
                &path,
                &admin,
                Some(&app.current_etag(&path, &admin).await),
                &json!({"role": "observer_representative"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let en_role = smtp.wait_for_to("en@lillestrom.test", 2).await.remove(1);
    assert_eq!(en_role.subject(), "Your CONNECT role has changed");
    assert!(
        en_role
            .text()
            .contains("from partner representative to observer representative"),
        "{}",
        en_role.text()
    );
    let nb_role = smtp.wait_for_to("nb@lillestrom.test", 1).await.remove(0);
    assert_eq!(nb_role.subject(), "Rollen din i CONNECT er endret");
    assert!(
        nb_role
            .text()
            .contains("fra partnerrepresentant til observatørrepresentant"),
        "{}",
        nb_role.text()
    );
    assert!(
        nb_role
            .html()
            .contains("<strong>observatørrepresentant</strong>")
    );

    // A change that leaves the role alone says nothing.
    let path = format!("/api/v1/users/{nb_id}");
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"display_name": "Nytt Navn", "role": "observer_representative"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    smtp.assert_quiet(3, Duration::from_millis(400)).await;
    let kinds: Vec<String> = notifications(&app, &admin, "")
        .await
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}

#[tokio::test]
async fn the_outbox_api_filters_for_admins_shows_users_their_own_and_never_bodies() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let a = app.rep(&admin, "Alpha Pharma", "partner").await;
    let b = app.rep(&admin, "Beta Pharma", "partner").await;
    invite(
        &app,
        &admin,
        &json!({"email": "guest@invited.test", "role": "admin"}),
    )
    .await;
    let path = format!("/api/v1/users/{}", a.user_id);
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"role": "observer_representative"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let between = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let res = app
        .post(
            "/api/v1/me/password",
            &b.token,
            &json!({"current_password": USER_PASSWORD, "new_password": "another long passphrase 7"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let mails = smtp.wait_for(3).await;
    let invitation_token = mails
        .iter()
        .find(|m| m.envelope_to == ["guest@invited.test"])
        .unwrap()
        .link_token("/invitations/");
    for m in &mails {
        wait_for_state(&app, &admin, &m.notification_id(), "sent").await;
    }

    let all = notifications(&app, &admin, "").await;
    assert_eq!(all.len(), 3);
    let ids: Vec<&str> = all.iter().map(|n| n["id"].as_str().unwrap()).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|x, y| y.cmp(x));
    assert_eq!(ids, newest_first);
    let kinds = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        kinds(&notifications(&app, &admin, "kind=role_changed").await),
        ["role_changed"]
    );
    let to_b = notifications(
        &app,
        &admin,
        &format!("recipient={}", b.email.to_uppercase()),
    )
    .await;
    assert_eq!(kinds(&to_b), ["password_changed"]);
    assert_eq!(to_b[0]["recipient_user_id"], b.user_id.as_str());
    assert_eq!(notifications(&app, &admin, "state=sent").await.len(), 3);
    assert!(notifications(&app, &admin, "state=failed").await.is_empty());
    assert_eq!(
        kinds(&notifications(&app, &admin, &format!("since={between}")).await),
        ["password_changed"]
    );
    let mut before = kinds(&notifications(&app, &admin, &format!("until={between}")).await);
    before.sort();
    assert_eq!(before, ["invitation", "role_changed"]);
    assert!(
        notifications(&app, &admin, "since=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );
    let page = app.get_ok("/api/v1/notifications?limit=2", &admin).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .list_items(
            &format!("/api/v1/notifications?limit=2&cursor={cursor}"),
            &admin,
        )
        .await;
    assert_eq!(rest.len(), 1);
    for (bad, field, code) in [
        ("state=lost", "state", "invalid_value"),
        ("kind=spam", "kind", "invalid_value"),
        ("since=yesterday", "since", "invalid_value"),
        ("colour=red", "colour", "unknown_parameter"),
    ] {
        let res = app
            .get(&format!("/api/v1/notifications?{bad}"), &admin)
            .await;
        assert_field_error(res, field, code).await;
    }

    // A user sees only their own, whatever they filter by.
    let mine = notifications(&app, &a.token, "").await;
    assert_eq!(kinds(&mine), ["role_changed"]);
    assert_eq!(mine[0]["recipient_user_id"], a.user_id.as_str());
    let mine = notifications(&app, &a.token, &format!("recipient={}", b.email)).await;
    assert_eq!(kinds(&mine), ["role_changed"]);
    assert!(
        notifications(&app, &a.token, "kind=password_changed")
            .await
            .is_empty()
    );
    let own = mine[0]["id"].as_str().unwrap();
    app.get_ok(&format!("/api/v1/notifications/{own}"), &a.token)
        .await;
    let b_id = to_b[0]["id"].as_str().unwrap();
    let res = app
        .get(&format!("/api/v1/notifications/{b_id}"), &a.token)
        .await;
    assert_problem(res, 404, "not-found").await;
    assert_eq!(
        app.get_anon("/api/v1/notifications").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Bodies (and the one-time links in them) are never in the API.
    let keys: BTreeSet<&str> = all
        .iter()
        .flat_map(|n| n.as_object().unwrap().keys().map(String::as_str))
        .collect();
    for key in ["body_text", "body_html", "text", "html", "body"] {
        assert!(!keys.contains(key), "{keys:?}");
    }
    let listing = app
        .get("/api/v1/notifications?limit=200", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!listing.contains(&invitation_token));
    let invitation_id = all.iter().find(|n| n["kind"] == "invitation").unwrap()["id"]
        .as_str()
        .unwrap();
    let one = app
        .get(&format!("/api/v1/notifications/{invitation_id}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!one.contains(&invitation_token));
    assert!(!one.contains("/invitations/"), "{one}");
}

#[tokio::test]
async fn header_bound_values_with_line_breaks_are_rejected_at_input() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let org = app.create_org(&admin, "Header Pharma", "pharma").await;
    let org_id = id_of(&org);
    for name in ["Kari\r\nBcc: evil@spam.test", "Kari\nNordmann", "Kari\rX"] {
        let res = app
            .post(
                "/api/v1/invitations",
                &admin,
                &json!({"email": "kari@header.test", "display_name": name, "role": "partner_representative",
                        "organisation_id": org_id}),
            )
            .await;
        assert_field_error(res, "display_name", "invalid_characters").await;
        let res = app
            .post(
                "/api/v1/users",
                &admin,
                &json!({"email": "kari@header.test", "display_name": name, "role": "partner_representative",
                        "organisation_id": org_id, "password": USER_PASSWORD}),
            )
            .await;
        assert_field_error(res, "display_name", "invalid_characters").await;
    }
    let res = app
        .post(
            "/api/v1/invitations",
            &admin,
            &json!({"email": "kari@header.test\r\nBcc: evil@spam.test", "role": "admin"}),
        )
        .await;
    assert_field_error(res, "email", "invalid_format").await;
    let user = app
        .create_user(
            &admin,
            "ok@header.test",
            "partner_representative",
            Some(&org_id),
        )
        .await;
    let path = format!("/api/v1/users/{}", id_of(&user));
    let res = app
        .patch(
            &path,
            &admin,
            Some(&app.current_etag(&path, &admin).await),
            &json!({"display_name": "Ok\r\nBcc: evil@spam.test"}),
        )
        .await;
    assert_field_error(res, "display_name", "invalid_characters").await;
    let res = app
        .post(
            "/api/v1/organisations",
            &admin,
            &json!({"name": "Evil\r\nBcc: x@y.test", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_field_error(res, "name", "invalid_characters").await;
    // Nothing was queued or sent.
    assert!(notifications(&app, &admin, "").await.is_empty());
    smtp.assert_quiet(0, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn without_smtp_messages_are_written_as_eml_files() {
    let app = spawn_app_with(&[
        ("CONNECT_PUBLIC_URL", PUBLIC_URL),
        ("CONNECT_MAIL_POLL_MS", "50"),
    ])
    .await;
    let admin = app.admin_token().await;
    let invitation = invite(
        &app,
        &admin,
        &json!({"email": "file@eml.test", "display_name": "Fil Øyen", "role": "admin", "language": "nb"}),
    )
    .await;
    let dir = app.data_dir().join("mail");
    let path = eventually("an .eml file under <data_dir>/mail/", || {
        let dir = dir.clone();
        async move {
            let entries = std::fs::read_dir(&dir).ok()?;
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "eml"))
        }
    })
    .await;
    let raw = std::fs::read(&path).unwrap();
    let mail = Mail::parse(&Received {
        envelope_from: String::new(),
        envelope_to: Vec::new(),
        raw,
    });
    assert_eq!(
        mail.raw_header("From"),
        Some("CONNECT <no-reply@localhost>")
    );
    assert_eq!(
        mail.header("To").as_deref(),
        Some("Fil Øyen <file@eml.test>")
    );
    assert_eq!(mail.subject(), "Invitasjon til CONNECT");
    assert_eq!(mail.content_type(), "multipart/alternative");
    assert!(mail.text().contains("Hei Fil Øyen,"));
    assert!(mail.html().contains("<p>Hei Fil Øyen,</p>"));
    let id = mail.notification_id();
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("{id}.eml")
    );
    let token = mail.link_token("/invitations/");
    let res = app.get_anon(&format!("/api/v1/invitations/{token}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let preview: Value = res.json().await.unwrap();
    assert_eq!(preview["email"], invitation["email"]);
    let n = wait_for_state(&app, &admin, &id, "sent").await;
    assert_eq!(n["message_id"], mail.message_id());
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 1, "one file, no temporary leftovers");
}

/// The value of one sample line of `/metrics` (`None` when absent).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn mail_counters_of_every_kind_exist_at_zero_before_the_first_message() {
    let app = spawn_app().await;
    let text = app.get_anon("/metrics").await.text().await.unwrap();
    for kind in [
        "invitation",
        "password_reset",
        "password_changed",
        "role_changed",
        "api_token_created",
        "membership_changed",
    ] {
        for counter in ["sent", "failed"] {
            let name = format!("connect_notifications_{counter}_total{{kind=\"{kind}\"}}");
            assert_eq!(metric(&text, &name), Some(0.0), "{name} in {text}");
        }
    }
}

#[tokio::test]
async fn metrics_count_sent_and_failed_messages_and_show_the_backlog() {
    let smtp = SmtpServer::start();
    let app = spawn_mail_app(&smtp).await;
    let admin = app.admin_token().await;
    let scrape = || async { app.get_anon("/metrics").await.text().await.unwrap() };
    let text = scrape().await;
    assert_eq!(
        metric(&text, "connect_notifications_backlog"),
        Some(0.0),
        "{text}"
    );

    invite(
        &app,
        &admin,
        &json!({"email": "one@metrics.test", "role": "admin"}),
    )
    .await;
    invite(
        &app,
        &admin,
        &json!({"email": "two@metrics.test", "role": "admin"}),
    )
    .await;
    for m in smtp.wait_for(2).await {
        wait_for_state(&app, &admin, &m.notification_id(), "sent").await;
    }
    smtp.set_mode(Mode::RejectAll);
    invite(
        &app,
        &admin,
        &json!({"email": "bad@metrics.test", "role": "admin"}),
    )
    .await;
    smtp.wait_for_refusals(1).await;
    eventually("the failed message recorded", || async {
        (!notifications(&app, &admin, "state=failed").await.is_empty()).then_some(())
    })
    .await;
    // A message that is not due yet stays in the backlog.
    let mut conn = app.db_conn();
    let mailer = Mailer::new(PUBLIC_URL, MAIL_FROM).unwrap();
    write_tx(&mut conn, |conn| {
        let to = Recipient {
            email: "later@metrics.test".into(),
            name: None,
            user_id: None,
            language: Language::Nb,
        };
        let id = enqueue(
            conn,
            &mailer,
            Kind::PasswordChanged,
            &to,
            json!({"changed_at": "x"}),
        )?
        .unwrap();
        diesel::update(n::table.filter(n::id.eq(&id)))
            .set(n::next_attempt_at.eq(connect::core::now() + TimeDelta::days(1)))
            .execute(conn)?;
        Ok(())
    })
    .unwrap();

    let text = scrape().await;
    assert!(
        text.contains("# TYPE connect_notifications_sent_total counter"),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "connect_notifications_sent_total{kind=\"invitation\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "connect_notifications_failed_total{kind=\"invitation\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric(&text, "connect_notifications_backlog"),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn preferences_offer_only_kinds_something_sends_and_stored_old_ones_do_not_break_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let me = app.me(&admin).await;
    let user_id = me["user"]["id"].as_str().unwrap().to_owned();
    // A preference stored by an older version for a kind no longer offered.
    let mut conn = app.db_conn();
    write_tx(&mut conn, |conn| {
        use connect::schema::notification_preferences as np;
        diesel::insert_into(np::table)
            .values((
                np::user_id.eq(&user_id),
                np::kind.eq("weekly_newsletter"),
                np::enabled.eq(false),
                np::updated_at.eq(connect::core::now()),
            ))
            .execute(conn)?;
        Ok(())
    })
    .unwrap();
    let prefs = app
        .get_ok("/api/v1/me/notification-preferences", &admin)
        .await;
    let keys: BTreeSet<&str> = prefs
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "language",
            "membership_changed",
            "agreement_status_changed",
            "cap_threshold",
            "cohort_stage_changed",
            "evaluations_due",
            "vote_opened",
            "vote_reminder",
            "vote_result",
            "meeting_reminder",
            "action_item_due"
        ])
    );
    set_preferences(
        &app,
        &admin,
        &json!({"language": "en", "membership_changed": false}),
    )
    .await;
    let res = app
        .send_json(
            reqwest::Method::PUT,
            "/api/v1/me/notification-preferences",
            &admin,
            None,
            Some(&json!({"language": "en", "membership_changed": true, "weekly_newsletter": true})),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "weekly_newsletter");
    assert_eq!(problem["errors"][0]["code"], "unknown_field");
}
