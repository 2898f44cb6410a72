//! Start-up failures and a database lost while running.

use std::collections::BTreeMap;

use connect::config::Settings;
use connect::startup::Application;
use diesel::{Connection, RunQueryDsl};

use crate::helpers::*;

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_sources(&env).unwrap()
}

#[tokio::test]
async fn startup_with_an_unreachable_database_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(&[
        (
            "CONNECT_DATABASE_URL",
            "postgres://postgres:hunter2@127.0.0.1:1/nowhere",
        ),
        (
            "CONNECT_JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        ),
        ("CONNECT_BIND", "127.0.0.1:0"),
        ("CONNECT_DATA_DIR", &dir.path().display().to_string()),
    ]);
    let err = match Application::build(s).await {
        Ok(_) => panic!("started without a database"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with(
            "cannot connect to the database at postgres://postgres:***@127.0.0.1:1/nowhere"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
}

#[tokio::test]
async fn a_weak_first_admin_password_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let s = settings(&[
        ("CONNECT_DATABASE_URL", &db),
        ("CONNECT_BIND", "127.0.0.1:0"),
        ("CONNECT_DATA_DIR", &dir.path().display().to_string()),
        ("CONNECT_ADMIN_EMAIL", "admin@connect.test"),
        ("CONNECT_ADMIN_PASSWORD", "password1234"),
    ]);
    let err = match Application::build(s).await {
        Ok(_) => panic!("started with a common admin password"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("cannot create the first admin") && err.contains("password"),
        "{err}"
    );
}

#[tokio::test]
async fn sqlite_jwt_secret_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let pairs = [
        ("CONNECT_DATABASE_URL", db.as_str()),
        ("CONNECT_BIND", "127.0.0.1:0"),
        ("CONNECT_DATA_DIR", &dir.path().display().to_string()),
    ];
    let mut first = settings(&pairs);
    let a = first.resolve_jwt_secret().unwrap();
    let mut second = settings(&pairs);
    let b = second.resolve_jwt_secret().unwrap();
    assert_eq!(a, b);
    assert!(a.expose().len() >= 32);
}

/// Block connections to the test database, end the open ones, and watch the service answer 503
/// and then recover by itself when the database comes back. A SQLite file cannot go away so.
#[tokio::test]
#[ignore = "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres cargo test -- --include-ignored"]
async fn readiness_follows_the_database_and_recovers() {
    require_postgres();
    let app = spawn_app().await;
    let token = app.admin_token().await;
    assert_eq!(app.get_anon("/readyz").await.status(), 200);
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin_url = format!(
        "{}/postgres",
        std::env::var("CONNECT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
    );
    let run = |sql: String| {
        let url = admin_url.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        })
    };
    run(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))
        .await
        .unwrap();
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await
    .unwrap();

    let res = app.get_anon("/readyz").await;
    assert_problem(res, 503, "unavailable").await;
    let res = app.get("/api/v1/organisations", &token).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 503, "unavailable").await;

    run(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let mut ready = false;
    for _ in 0..50 {
        if app.get_anon("/readyz").await.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the service did not recover");
    assert_eq!(app.get("/api/v1/organisations", &token).await.status(), 200);
}

/// PostgreSQL only: a restart ends every pooled connection while the server is soon back. The
/// request that meets a dead connection answers 503 (never 500), the pool replaces the dead
/// ones by itself, and the next request is served: connections are not pinged before every use.
#[tokio::test]
async fn connections_lost_to_a_restart_are_replaced_by_themselves() {
    if backend() != Backend::Postgres {
        return;
    }
    let app = spawn_app().await;
    let token = app.admin_token().await;
    assert_eq!(app.get("/api/v1/organisations", &token).await.status(), 200);
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let admin_url = format!(
        "{}/postgres",
        std::env::var("CONNECT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
    );
    tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .execute(&mut conn)
        .unwrap();
        // Wait until the backends have really gone.
        for _ in 0..100 {
            let left = diesel::sql_query(format!(
                "SELECT pid FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .execute(&mut conn)
            .unwrap();
            if left == 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the backends did not end");
    })
    .await
    .unwrap();

    let first = app.get("/api/v1/organisations", &token).await;
    assert!(first.headers().contains_key("retry-after"));
    assert_problem(first, 503, "unavailable").await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/organisations", &token).await.status(), 200);
    }
}
