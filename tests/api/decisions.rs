//! Decisions and votes through HTTP: observers who cannot vote, quorum, simple and two-thirds
//! majorities, recusals (automatic and declared), the deadline read without a job, the chair
//! closing early, an organisation suspended mid-vote, secret ballots, votes hidden before the
//! close, reminders and results in the outbox, decision links, scopes.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

fn today() -> String {
    Utc::now().date_naive().to_string()
}

fn in_secs(s: i64) -> String {
    (Utc::now() + TimeDelta::seconds(s)).to_rfc3339()
}

/// A body with the given rules and seats.
async fn body(app: &TestApp, admin: &str, name: &str, quorum: i32, majority: &str) -> String {
    let b = expect(
        app.post(
            "/api/v1/bodies",
            admin,
            &json!({"kind": "board", "name": name, "mandate": "Decides.",
                    "quorum_percent": quorum, "majority": majority}),
        )
        .await,
        201,
    )
    .await;
    id_of(&b)
}

/// A board: a chair and two members (partners) and an observer.
struct Board {
    admin: String,
    id: String,
    chair: Member,
    a: Member,
    b: Member,
    observer: Member,
}

async fn board(app: &TestApp, quorum: i32, majority: &str) -> Board {
    let admin = app.admin_token().await;
    let id = body(app, &admin, "The Board", quorum, majority).await;
    let chair = app.member(&admin, "Chair Hospital", "partner").await;
    let a = app.member(&admin, "Alpha Pharma", "partner").await;
    let b = app.member(&admin, "Beta Pharma", "partner").await;
    let observer = app.member(&admin, "Watcher Ltd", "observer").await;
    app.seat_member(&admin, &id, &chair, "chair").await;
    app.seat_member(&admin, &id, &a, "member").await;
    app.seat_member(&admin, &id, &b, "member").await;
    app.seat_member(&admin, &id, &observer, "observer").await;
    Board {
        admin,
        id,
        chair,
        a,
        b,
        observer,
    }
}

async fn propose(app: &TestApp, token: &str, body: Value) -> String {
    id_of(&expect(app.post("/api/v1/decisions", token, &body).await, 201).await)
}

async fn open(app: &TestApp, token: &str, id: &str, deadline: &str) -> Value {
    expect(
        app.post(
            &format!("/api/v1/decisions/{id}/open"),
            token,
            &json!({"deadline": deadline}),
        )
        .await,
        200,
    )
    .await
}

async fn vote(app: &TestApp, token: &str, id: &str, choice: &str) -> reqwest::Response {
    app.send_json(
        reqwest::Method::PUT,
        &format!("/api/v1/decisions/{id}/vote"),
        token,
        None,
        Some(&json!({"choice": choice})),
    )
    .await
}

async fn close(app: &TestApp, token: &str, id: &str) -> Value {
    expect(
        app.post(&format!("/api/v1/decisions/{id}/close"), token, &json!({}))
            .await,
        200,
    )
    .await
}

async fn messages(app: &TestApp, admin: &str, kind: &str) -> Vec<Value> {
    app.list_items(
        &format!("/api/v1/notifications?kind={kind}&limit=200"),
        admin,
    )
    .await
}

fn mailer() -> connect::notifications::Mailer {
    connect::notifications::Mailer::new("http://localhost", "connect@example.org").unwrap()
}

#[tokio::test]
async fn a_board_votes_observers_do_not_and_the_chair_closes_early() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.chair.token,
        json!({"body_id": t.id, "title": "Approve the plan", "text": "The board approves it.",
               "kind": "resolution", "reference": "BOARD-2026-1"}),
    )
    .await;
    // References are unique; members do not propose.
    let res = app
        .post(
            "/api/v1/decisions",
            &t.chair.token,
            &json!({"body_id": t.id, "title": "Again", "text": "x", "kind": "resolution",
                    "reference": "board-2026-1"}),
        )
        .await;
    assert_problem(res, 409, "conflict").await;
    let res = app
        .post(
            "/api/v1/decisions",
            &t.a.token,
            &json!({"body_id": t.id, "title": "Mine", "text": "x", "kind": "resolution"}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // Proposed: editable with If-Match; no votes yet.
    let path = format!("/api/v1/decisions/{id}");
    let etag = app.current_etag(&path, &t.chair.token).await;
    let edited = expect(
        app.patch(
            &path,
            &t.chair.token,
            Some(&etag),
            &json!({"title": "Approve the 2027 plan"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["title"], "Approve the 2027 plan");
    assert_problem(
        vote(&app, &t.a.token, &id, "yes").await,
        409,
        "voting-closed",
    )
    .await;

    let opened = open(&app, &t.chair.token, &id, &in_secs(86_400)).await;
    assert_eq!(opened["status"], "open");
    // Chair, a and b vote; the observer does not.
    assert_eq!(opened["eligible_count"], 3);
    assert_eq!(opened["quorum"], 2);
    assert_eq!(opened["majority"], "simple");
    let etag = app.current_etag(&path, &t.chair.token).await;
    let res = app
        .patch(
            &path,
            &t.chair.token,
            Some(&etag),
            &json!({"title": "Late"}),
        )
        .await;
    assert_problem(res, 409, "invalid-transition").await;
    // The body's members are told (the observer too).
    assert_eq!(messages(&app, &t.admin, "vote_opened").await.len(), 4);

    let problem = assert_problem(
        vote(&app, &t.observer.token, &id, "yes").await,
        403,
        "not-a-voter",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("observer"),
        "{problem}"
    );
    let mine = expect(vote(&app, &t.a.token, &id, "no").await, 200).await;
    assert_eq!(mine["my_vote"], "no");
    // Changed until the close.
    let mine = expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    assert_eq!(mine["my_vote"], "yes");
    assert_eq!(mine["voted_count"], 1);
    // Before the close each sees only their own vote.
    let votes_path = format!("/api/v1/decisions/{id}/votes");
    let seen = app.get_ok(&votes_path, &t.a.token).await;
    assert_eq!(seen["votes"].as_array().unwrap().len(), 1);
    assert_eq!(seen["my_vote"], "yes");
    let seen = app.get_ok(&votes_path, &t.b.token).await;
    assert_eq!(seen["votes"], json!([]));
    assert_eq!(seen["voted_count"], 1);
    assert_eq!(seen["my_vote"], Value::Null);
    assert_eq!(seen["result"], Value::Null);
    let got = app.get_ok(&path, &t.b.token).await;
    assert_eq!(got["i_may_vote"], true);
    assert_eq!(got["result"], Value::Null);
    expect(vote(&app, &t.b.token, &id, "abstain").await, 200).await;

    // Only those who manage the body close it.
    let res = app
        .post(
            &format!("/api/v1/decisions/{id}/close"),
            &t.a.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let closed = close(&app, &t.chair.token, &id).await;
    assert_eq!(closed["status"], "adopted");
    assert_eq!(
        closed["result"],
        json!({"yes": 1, "no": 0, "abstain": 1, "quorum_reached": true, "adopted": true})
    );
    assert!(closed["closed_by"].is_string());
    assert_problem(
        vote(&app, &t.b.token, &id, "yes").await,
        409,
        "voting-closed",
    )
    .await;
    // After the close the body sees who voted how.
    let seen = app.get_ok(&votes_path, &t.observer.token).await;
    assert_eq!(seen["closed"], true);
    assert_eq!(seen["votes"].as_array().unwrap().len(), 2, "{seen}");
    // The result goes to the body's members; the audit trail has the steps.
    assert_eq!(messages(&app, &t.admin, "vote_result").await.len(), 4);
    let events = app
        .audit_events(&t.admin, &format!("record_type=decision&record_id={id}"))
        .await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "decision.created",
        "decision.updated",
        "decision.opened",
        "decision.voted",
        "decision.closed",
    ] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    // Decisions are seen by the body's members and the secretariat only.
    let outsider = app.member(&t.admin, "Outside Pharma", "partner").await;
    assert_problem(app.get(&path, &outsider.token).await, 404, "not-found").await;
    assert!(
        app.list_items("/api/v1/decisions", &outsider.token)
            .await
            .is_empty()
    );
    assert_eq!(
        app.list_items("/api/v1/decisions", &t.a.token).await.len(),
        1
    );
    let adopted = app
        .list_items(
            &format!("/api/v1/decisions?body_id={}&status=adopted", t.id),
            &t.admin,
        )
        .await;
    assert_eq!(adopted.len(), 1);
}

#[tokio::test]
async fn without_quorum_a_vote_is_rejected_and_two_thirds_needs_two_thirds() {
    let app = spawn_app().await;
    let t = board(&app, 100, "two_thirds").await;
    let propose_open = |title: &'static str| {
        let (app, t) = (&app, &t);
        async move {
            let id = propose(
                app,
                &t.admin,
                json!({"body_id": t.id, "title": title, "text": "x", "kind": "recommendation"}),
            )
            .await;
            open(app, &t.admin, &id, &in_secs(86_400)).await;
            id
        }
    };
    // Quorum 100 % of 3: two votes are not enough.
    let id = propose_open("Quorum").await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "yes").await, 200).await;
    let closed = close(&app, &t.admin, &id).await;
    assert_eq!(closed["status"], "rejected");
    assert_eq!(closed["result"]["quorum_reached"], false);
    assert_eq!(closed["quorum"], 3);

    // Exactly two thirds: adopted.
    let id = propose_open("Two thirds").await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.chair.token, &id, "no").await, 200).await;
    assert_eq!(close(&app, &t.admin, &id).await["status"], "adopted");

    // One yes, one no, one abstention: below two thirds.
    let id = propose_open("Short").await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "no").await, 200).await;
    expect(vote(&app, &t.chair.token, &id, "abstain").await, 200).await;
    let closed = close(&app, &t.admin, &id).await;
    assert_eq!(closed["status"], "rejected");
    assert_eq!(closed["result"]["quorum_reached"], true);
}

#[tokio::test]
async fn members_are_recused_from_their_own_companys_agreement_and_may_declare_a_conflict() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    // An agreement of Alpha Pharma, submitted.
    let drug = id_of(
        &expect(
            app.post(
                "/api/v1/drugs",
                &t.admin,
                &json!({"organisation_id": t.a.organisation_id, "generic_name": "alectinib",
                        "status": "available", "available_from": "2020-01-01"}),
            )
            .await,
            201,
        )
        .await,
    );
    let agreement = id_of(
        &expect(
            app.post(
                "/api/v1/agreements",
                &t.admin,
                &json!({"organisation_id": t.a.organisation_id, "reference": "CONNECT-ALPHA",
                        "title": "Drug supply", "signed_on": "2020-01-01",
                        "effective_from": "2020-01-01", "patient_cap": 10}),
            )
            .await,
            201,
        )
        .await,
    );
    expect(
        app.post(
            &format!("/api/v1/agreements/{agreement}/drugs"),
            &t.admin,
            &json!({"drug_id": drug}),
        )
        .await,
        201,
    )
    .await;
    expect(
        app.post(
            &format!("/api/v1/agreements/{agreement}/submit"),
            &t.admin,
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    let id = propose(
        &app,
        &t.chair.token,
        json!({"body_id": t.id, "title": "Approve Alpha's agreement", "text": "x",
               "kind": "resolution", "reference": "BOARD-2026-7", "subject_agreement_id": agreement}),
    )
    .await;
    let opened = open(&app, &t.chair.token, &id, &in_secs(86_400)).await;
    // Alpha's person is recused: two voters, quorum one.
    assert_eq!(opened["eligible_count"], 2);
    assert_eq!(opened["recusals"][0]["kind"], "own_organisation");
    assert_eq!(opened["recusals"][0]["person_id"], t.a.person_id.as_str());
    let problem =
        assert_problem(vote(&app, &t.a.token, &id, "yes").await, 403, "not-a-voter").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("recused"),
        "{problem}"
    );
    // A declared conflict removes the vote cast.
    expect(vote(&app, &t.b.token, &id, "no").await, 200).await;
    let recused = expect(
        app.post(
            &format!("/api/v1/decisions/{id}/recusals"),
            &t.b.token,
            &json!({"reason": "I advise Alpha"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(recused["my_vote"], Value::Null);
    assert_eq!(recused["voted_count"], 0);
    assert_eq!(recused["recusals"].as_array().unwrap().len(), 2);
    assert_problem(vote(&app, &t.b.token, &id, "yes").await, 403, "not-a-voter").await;
    // The quorum's base stays the count at the opening.
    expect(vote(&app, &t.chair.token, &id, "yes").await, 200).await;
    let closed = close(&app, &t.chair.token, &id).await;
    assert_eq!(closed["eligible_count"], 2);
    assert_eq!(closed["status"], "adopted");
    assert_eq!(closed["recusals"].as_array().unwrap().len(), 2);

    // The activation cites the decision; another agreement's decision is refused.
    let res = app
        .post(
            &format!("/api/v1/agreements/{agreement}/activate"),
            &t.admin,
            &json!({"reason": "Approved", "decision_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_field_error(res, "decision_id", "not_found").await;
    expect(
        app.post(
            &format!("/api/v1/agreements/{agreement}/activate"),
            &t.admin,
            &json!({"reason": "Approved", "decision_id": id}),
        )
        .await,
        200,
    )
    .await;
    let history = app
        .get_ok(&format!("/api/v1/agreements/{agreement}/history"), &t.admin)
        .await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["decision_id"], id.as_str());
    assert_eq!(last["decision_reference"], "BOARD-2026-7");
}

#[tokio::test]
async fn a_vote_past_its_deadline_reads_closed_before_any_job_and_the_job_stores_it_once() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Quick", "text": "x", "kind": "resolution"}),
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(2)).await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "yes").await, 200).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let got = app
        .get_ok(&format!("/api/v1/decisions/{id}"), &t.chair.token)
        .await;
    assert_eq!(got["status"], "adopted", "{got}");
    assert_eq!(got["result"]["yes"], 2);
    assert_eq!(got["closed_at"], got["deadline"]);
    assert_eq!(got["i_may_vote"], false);
    assert_problem(
        vote(&app, &t.chair.token, &id, "no").await,
        409,
        "voting-closed",
    )
    .await;
    let votes = app
        .get_ok(&format!("/api/v1/decisions/{id}/votes"), &t.chair.token)
        .await;
    assert_eq!(votes["closed"], true);
    assert_eq!(votes["votes"].as_array().unwrap().len(), 2);
    let listed = app
        .list_items("/api/v1/decisions?status=adopted", &t.chair.token)
        .await;
    assert_eq!(listed.len(), 1);
    assert!(messages(&app, &t.admin, "vote_result").await.is_empty());
    // The worker's job stores the close and sends the result, once.
    let mut conn = app.db_conn();
    let queued = connect::decisions::repo::job(&mut conn, &mailer()).unwrap();
    assert_eq!(queued, 4);
    assert_eq!(
        connect::decisions::repo::job(&mut conn, &mailer()).unwrap(),
        0
    );
    let got = app
        .get_ok(&format!("/api/v1/decisions/{id}"), &t.chair.token)
        .await;
    assert_eq!(got["status"], "adopted");
    assert_eq!(got["closed_by"], Value::Null);
    assert_eq!(messages(&app, &t.admin, "vote_result").await.len(), 4);
}

#[tokio::test]
async fn a_voter_whose_organisation_is_suspended_mid_vote_is_refused_and_earlier_votes_stand() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Suspension", "text": "x", "kind": "resolution"}),
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(86_400)).await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    app.change_status(&t.admin, &t.a.organisation_id, "suspended", &today())
        .await;
    app.change_status(&t.admin, &t.b.organisation_id, "suspended", &today())
        .await;
    // b had not voted: refused from now on (b's account is still active).
    let problem =
        assert_problem(vote(&app, &t.b.token, &id, "yes").await, 403, "not-a-voter").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("partner"),
        "{problem}"
    );
    expect(vote(&app, &t.chair.token, &id, "no").await, 200).await;
    let closed = close(&app, &t.chair.token, &id).await;
    // a's vote cast before the suspension stands: 1 yes, 1 no, not adopted.
    assert_eq!(
        closed["result"],
        json!({"yes": 1, "no": 1, "abstain": 0, "quorum_reached": true, "adopted": false})
    );
    assert_eq!(closed["eligible_count"], 3);
}

#[tokio::test]
async fn a_secret_ballot_keeps_only_the_counts() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Secret", "text": "x", "kind": "resolution",
               "secret_ballot": true}),
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(86_400)).await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "no").await, 200).await;
    expect(vote(&app, &t.chair.token, &id, "yes").await, 200).await;
    let votes_path = format!("/api/v1/decisions/{id}/votes");
    let own = app.get_ok(&votes_path, &t.a.token).await;
    assert_eq!(own["my_vote"], "yes");
    assert_eq!(own["votes"].as_array().unwrap().len(), 1);
    let closed = close(&app, &t.admin, &id).await;
    assert_eq!(closed["result"]["yes"], 2);
    assert_eq!(closed["result"]["no"], 1);
    let after = app.get_ok(&votes_path, &t.a.token).await;
    assert_eq!(after["votes"], json!([]));
    assert_eq!(after["my_vote"], Value::Null);
    assert_eq!(after["result"]["yes"], 2);
    let got = app
        .get_ok(&format!("/api/v1/decisions/{id}"), &t.a.token)
        .await;
    assert_eq!(got["my_vote"], Value::Null);
}

#[tokio::test]
async fn voters_who_have_not_voted_get_one_reminder_a_day_before_the_deadline() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Remind", "text": "x", "kind": "resolution"}),
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(3 * 3600)).await;
    // A vote opened a week ahead is not reminded yet.
    let later = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Later", "text": "x", "kind": "resolution"}),
    )
    .await;
    open(&app, &t.admin, &later, &in_secs(7 * 86_400)).await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    let mut conn = app.db_conn();
    assert_eq!(
        connect::decisions::repo::job(&mut conn, &mailer()).unwrap(),
        2
    );
    assert_eq!(
        connect::decisions::repo::job(&mut conn, &mailer()).unwrap(),
        0
    );
    let sent = messages(&app, &t.admin, "vote_reminder").await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let to: Vec<&str> = sent
        .iter()
        .map(|n| n["recipient_email"].as_str().unwrap())
        .collect();
    assert!(to.contains(&t.b.email.as_str()) && to.contains(&t.chair.email.as_str()));
    assert!(!to.contains(&t.a.email.as_str()));
    assert!(!to.contains(&t.observer.email.as_str()));
}

#[tokio::test]
async fn a_membership_change_cites_the_adopted_decision_about_its_organisation() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let applicant = app
        .create_org(&t.admin, "Gamma Diagnostics", "pharma")
        .await;
    let org = id_of(&applicant);
    app.set_status(&t.admin, &org, "applicant").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Admit Gamma", "text": "x", "kind": "resolution",
               "reference": "BOARD-2026-9", "subject_organisation_id": org}),
    )
    .await;
    let path = format!("/api/v1/organisations/{org}/membership-changes");
    let body = json!({"to_status": "partner", "effective_date": today(), "reason": "Admitted",
                      "decision_id": id});
    // Not adopted yet.
    assert_field_error(
        app.post(&path, &t.admin, &body).await,
        "decision_id",
        "not_adopted",
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(86_400)).await;
    expect(vote(&app, &t.a.token, &id, "yes").await, 200).await;
    expect(vote(&app, &t.b.token, &id, "yes").await, 200).await;
    close(&app, &t.chair.token, &id).await;
    // A decision about another organisation is refused.
    let res = app
        .post(
            &format!(
                "/api/v1/organisations/{}/membership-changes",
                t.a.organisation_id
            ),
            &t.admin,
            &json!({"to_status": "suspended", "effective_date": today(), "reason": "x",
                    "decision_id": id}),
        )
        .await;
    assert_field_error(res, "decision_id", "other_subject").await;
    let change = expect(app.post(&path, &t.admin, &body).await, 201).await;
    assert_eq!(change["decision_id"], id.as_str());
    assert_eq!(change["decision_reference"], "BOARD-2026-9");
    let history = app.list_items(&path, &t.admin).await;
    assert_eq!(history.last().unwrap()["decision_id"], id.as_str());
}

#[tokio::test]
async fn tokens_need_the_decisions_scopes() {
    let app = spawn_app().await;
    let t = board(&app, 50, "simple").await;
    let id = propose(
        &app,
        &t.admin,
        json!({"body_id": t.id, "title": "Scoped", "text": "x", "kind": "resolution"}),
    )
    .await;
    open(&app, &t.admin, &id, &in_secs(86_400)).await;
    let (_, read) = app.create_api_token(&t.a.token, &["decisions:read"]).await;
    let (_, write) = app
        .create_api_token(&t.a.token, &["decisions:read", "decisions:write"])
        .await;
    let (_, other) = app.create_api_token(&t.a.token, &["bodies:read"]).await;
    expect(
        app.get(&format!("/api/v1/decisions/{id}"), &read).await,
        200,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/decisions/{id}"), &other).await,
        403,
        "insufficient-scope",
    )
    .await;
    assert_problem(
        vote(&app, &read, &id, "yes").await,
        403,
        "insufficient-scope",
    )
    .await;
    // A token votes for its owner's person.
    let voted = expect(vote(&app, &write, &id, "yes").await, 200).await;
    assert_eq!(voted["my_vote"], "yes");
}
