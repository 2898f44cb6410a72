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

/// The key's row as the middleware and the handler leave it: (claim id, committed at, status).
type KeyRow = (Option<String>, Option<chrono::NaiveDateTime>, Option<i32>);

fn key_row(app: &TestApp, key: &str) -> Option<KeyRow> {
    use connect::schema::idempotency_keys as ik;
    ik::table
        .filter(ik::idem_key.eq(key))
        .select((ik::claim_id, ik::committed_at, ik::status_code))
        .first(&mut app.db_conn())
        .optional()
        .unwrap()
}

/// The key's owner and request hash.
fn owner_of_key(app: &TestApp, key: &str) -> (String, String) {
    use connect::schema::idempotency_keys as ik;
    ik::table
        .filter(ik::idem_key.eq(key))
        .select((ik::owner, ik::request_hash))
        .first(&mut app.db_conn())
        .unwrap()
}

/// Makes the key's row look like a request whose work committed `ago` but whose response was
/// never stored (the answer to COMMIT was lost, or storing the response failed).
fn lose_response(app: &TestApp, key: &str, ago: chrono::TimeDelta) {
    use connect::schema::idempotency_keys as ik;
    let at = connect::core::now() - ago;
    let n = diesel::update(ik::table.filter(ik::idem_key.eq(key)))
        .set((
            ik::status_code.eq(None::<i32>),
            ik::response_headers.eq(None::<String>),
            ik::response_body.eq(None::<String>),
            ik::created_at.eq(at),
            ik::committed_at.eq(Some(at)),
        ))
        .execute(&mut app.db_conn())
        .unwrap();
    assert_eq!(n, 1);
}

/// A claim left by a request whose handler never committed (the database went away after the
/// claim, and the release failed with it), claimed `ago` for a request of this hash.
fn stuck_claim(app: &TestApp, owner: &str, key: &str, hash: &str, ago: chrono::TimeDelta) {
    use connect::schema::idempotency_keys as ik;
    diesel::insert_into(ik::table)
        .values((
            ik::owner.eq(owner),
            ik::idem_key.eq(key),
            ik::request_hash.eq(hash),
            ik::created_at.eq(connect::core::now() - ago),
            ik::claim_id.eq("the first attempt's claim"),
        ))
        .execute(&mut app.db_conn())
        .unwrap();
}

#[tokio::test]
async fn the_handlers_transaction_marks_the_key_committed() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (path, body) in [
        ("/api/v1/organisations", org_body("Roche Norge")),
        // Through the `Caller` extractor rather than `Auth::write`.
        (
            "/api/v1/users",
            json!({"email": "second@connect.test", "display_name": "Second",
                   "role": "admin", "password": USER_PASSWORD}),
        ),
    ] {
        let res = app.post_idempotent(path, &admin, path, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let (claim_id, committed, status) = key_row(&app, path).unwrap();
        assert!(claim_id.is_some_and(|c| !c.is_empty()), "{path}");
        assert!(committed.is_some(), "{path}: not marked committed");
        assert_eq!(status, Some(201));
    }
    // Work that fails commits nothing, and is not marked.
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "invalid",
            &json!({"name": "", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_problem(res, 422, "validation-failed").await;
    let (_, committed, status) = key_row(&app, "invalid").unwrap();
    assert_eq!((committed, status), (None, Some(422)));
}

#[tokio::test]
async fn a_committed_request_whose_response_was_lost_is_never_run_again() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = org_body("Roche Norge");
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "lost", &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // Committed two minutes ago: the first request may still be storing its answer.
    lose_response(&app, "lost", chrono::TimeDelta::minutes(2));
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "lost", &body)
        .await;
    assert_problem(res, 409, "idempotency-key-in-use").await;

    // Six minutes ago: the response is lost, and the request is not carried out again.
    lose_response(&app, "lost", chrono::TimeDelta::minutes(6));
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "lost", &body)
        .await;
    let problem = assert_problem(res, 409, "idempotency-response-lost").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("was carried out"),
        "{problem}"
    );
    // The key with another request is still refused as reused.
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "lost",
            &org_body("Lilly Norge"),
        )
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;

    assert_eq!(org_names(&app, &admin).await, ["Roche Norge"]);
    let created = app
        .audit_events(&admin, "action=organisation.created")
        .await;
    assert_eq!(created.len(), 1, "created once");
    let (_, committed, status) = key_row(&app, "lost").unwrap();
    assert!(committed.is_some() && status.is_none(), "the row is kept");
}

#[tokio::test]
async fn a_claim_that_never_committed_is_taken_over_after_a_minute() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "first", &org_body("Lilly"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (owner, lilly) = owner_of_key(&app, "first");
    let body = org_body("Roche Norge");

    // Claimed 30 seconds ago: still in progress (or, with another request, reused).
    stuck_claim(
        &app,
        &owner,
        "recent",
        &lilly,
        chrono::TimeDelta::seconds(30),
    );
    let res = app
        .post_idempotent(
            "/api/v1/organisations",
            &admin,
            "recent",
            &org_body("Lilly"),
        )
        .await;
    assert_problem(res, 409, "idempotency-key-in-use").await;
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "recent", &body)
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;

    // Claimed two minutes ago and never committed: the retry takes it over and runs, once.
    stuck_claim(&app, &owner, "stuck", "-", chrono::TimeDelta::minutes(2));
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "stuck", &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(
        header(&res, "idempotent-replayed").as_deref(),
        Some("false")
    );
    let (claim_id, committed, status) = key_row(&app, "stuck").unwrap();
    assert_ne!(claim_id.as_deref(), Some("the first attempt's claim"));
    assert!(committed.is_some());
    assert_eq!(status, Some(201));
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "stuck", &body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(header(&res, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(org_names(&app, &admin).await, ["Lilly", "Roche Norge"]);
}

#[tokio::test]
async fn a_handler_whose_claim_was_taken_over_writes_nothing() {
    use connect::db::write_tx;
    use connect::error::{ApiError, ProblemType};
    use connect::http::idempotency::IdempotencyClaim;
    use connect::schema::idempotency_keys as ik;
    let app = spawn_app().await;
    let owner = "user:someone";
    // The retry took the key over: the row now holds the retry's claim id.
    stuck_claim(&app, owner, "k", "-", chrono::TimeDelta::zero());
    let old = IdempotencyClaim {
        owner: owner.into(),
        key: "k".into(),
        claim_id: "a claim taken over".into(),
    };
    let mut conn = app.db_conn();
    // The old handler's work, then its mark, in one transaction.
    let result = write_tx(&mut conn, |conn| {
        diesel::insert_into(ik::table)
            .values((
                ik::owner.eq(owner),
                ik::idem_key.eq("the old handler's work"),
                ik::request_hash.eq("-"),
                ik::created_at.eq(connect::core::now()),
            ))
            .execute(conn)?;
        old.mark_committed(conn)
    });
    match result {
        Err(e @ ApiError::Conflict { .. }) => {
            assert_eq!(e.problem_type(), ProblemType::IdempotencyKeyInUse);
        }
        other => panic!("expected 409 idempotency-key-in-use, got {other:?}"),
    }
    assert!(
        key_row(&app, "the old handler's work").is_none(),
        "the old handler's work rolled back"
    );
    assert_eq!(key_row(&app, "k").unwrap().1, None, "the retry's claim");

    // The claim's holder marks it.
    let current = IdempotencyClaim {
        claim_id: "the first attempt's claim".into(),
        ..old
    };
    write_tx(&mut conn, |conn| current.mark_committed(conn)).unwrap();
    assert!(key_row(&app, "k").unwrap().1.is_some());
}

#[tokio::test]
async fn a_claim_is_released_only_by_its_holder_and_only_before_its_work_committed() {
    use connect::db::write_tx;
    use connect::http::idempotency::{IdempotencyClaim, release};
    let app = spawn_app().await;
    let mut conn = app.db_conn();
    stuck_claim(&app, "user:someone", "k", "-", chrono::TimeDelta::zero());
    let claim = IdempotencyClaim {
        owner: "user:someone".into(),
        key: "k".into(),
        claim_id: "the first attempt's claim".into(),
    };
    let other = IdempotencyClaim {
        claim_id: "another claim".into(),
        ..claim.clone()
    };
    assert!(!write_tx(&mut conn, |conn| release(conn, &other)).unwrap());
    assert!(
        key_row(&app, "k").is_some(),
        "another claim's release keeps it"
    );

    // A server error after the handler's work committed keeps the key: a retry must not run it
    // again.
    write_tx(&mut conn, |conn| claim.mark_committed(conn)).unwrap();
    assert!(!write_tx(&mut conn, |conn| release(conn, &claim)).unwrap());
    assert!(key_row(&app, "k").is_some(), "committed work keeps its key");

    // Before the commit, the holder's release gives the key back.
    stuck_claim(&app, "user:someone", "k2", "-", chrono::TimeDelta::zero());
    let claim = IdempotencyClaim {
        key: "k2".into(),
        ..claim
    };
    assert!(write_tx(&mut conn, |conn| release(conn, &claim)).unwrap());
    assert!(key_row(&app, "k2").is_none());
}

#[tokio::test]
async fn a_retry_does_not_take_over_a_claim_whose_work_is_committing() {
    use connect::http::idempotency::IdempotencyClaim;
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post_idempotent("/api/v1/organisations", &admin, "first", &org_body("Lilly"))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (owner, hash) = owner_of_key(&app, "first");
    // A claim old enough to be taken over, whose handler is committing just as the retry comes.
    stuck_claim(&app, &owner, "racing", &hash, chrono::TimeDelta::minutes(2));
    let claim = IdempotencyClaim {
        owner,
        key: "racing".into(),
        claim_id: "the first attempt's claim".into(),
    };
    let mut conn = app.db_conn();
    conn.batch_execute(match backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    })
    .unwrap();
    claim.mark_committed(&mut conn).unwrap();
    let body = org_body("Lilly");
    let retry = app.post_idempotent("/api/v1/organisations", &admin, "racing", &body);
    let commit = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        conn.batch_execute("COMMIT").unwrap();
    };
    // On PostgreSQL the retry reads the claim as uncommitted, then waits for the row; on SQLite
    // it waits for the write lock. Either way it must find the work committed, not run it again.
    let (res, ()) = tokio::join!(retry, commit);
    assert_problem(res, 409, "idempotency-key-in-use").await;
    assert_eq!(org_names(&app, &admin).await, ["Lilly"]);
}
