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

/// A tmpfs mounted for one test (unmounted on drop), and the immutable flag taken off what it holds.
struct SmallDisk {
    path: std::path::PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` where this process may not mount (not root): the test then says so and stops.
    fn mount(size: &str) -> Option<Self> {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Self {
            path,
            _parent: parent,
        })
    }

    /// Writes a file until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = f.write_all(&block).and_then(|()| f.flush()) {
                assert_eq!(e.raw_os_error(), Some(28), "{e}"); // ENOSPC
                return;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// Sets or clears the immutable attribute (`chattr ±i`) of the SQLite file and its WAL: even root
/// cannot write them then. Clearing is quiet about files that are gone.
fn immutable(db: &std::path::Path, on: bool) {
    for suffix in ["", "-wal"] {
        let mut file = db.as_os_str().to_owned();
        file.push(suffix);
        let status = std::process::Command::new("chattr")
            .arg(if on { "+i" } else { "-i" })
            .arg(&file)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!on || status.success(), "chattr +i {file:?}");
    }
}

/// Clears the immutable attribute when the test ends, however it ends (else the temporary
/// folder cannot be removed).
struct Frozen(std::path::PathBuf);

impl Drop for Frozen {
    fn drop(&mut self) {
        immutable(&self.0, false);
    }
}

#[derive(diesel::QueryableByName)]
struct IntegrityCheck {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// What the SQLite file holds, read by a connection of its own: `PRAGMA integrity_check` and the
/// organisations whose name starts with `prefix`.
fn sqlite_file_state(path: &std::path::Path, prefix: &str) -> (String, i64) {
    use connect::schema::organisations as o;
    use diesel::prelude::*;
    let mut conn = diesel::SqliteConnection::establish(&path.display().to_string()).unwrap();
    let check: Vec<IntegrityCheck> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .unwrap();
    let count = o::table
        .filter(o::name.like(format!("{prefix}%")))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (check[0].integrity_check.clone(), count)
}

/// Creates organisations named `<prefix> <n>` until one is refused or `max` are made; every
/// answer is 201 or the `storage-unavailable` problem (never a 500). Returns how many were
/// created and the refusal, if any.
async fn create_until_refused(
    app: &TestApp,
    token: &str,
    prefix: &str,
    max: usize,
) -> (i64, Option<serde_json::Value>) {
    for n in 0..max {
        let body = serde_json::json!({"name": format!("{prefix} {n}"), "kind": "pharma", "sector": "private"});
        let res = app.post("/api/v1/organisations", token, &body).await;
        if res.status() == 201 {
            continue;
        }
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let problem: serde_json::Value = res.json().await.unwrap();
        assert_eq!(
            (status, problem["type"].as_str(), retry_after.as_deref()),
            (503, Some("/problems/storage-unavailable"), Some("30")),
            "{problem}"
        );
        return (n as i64, Some(problem));
    }
    (max as i64, None)
}

/// The SQLite file on a full disk, then made read-only: writes answer 503 `storage-unavailable`
/// (with `Retry-After`, naming no SQLite internals) while reads go on; once the fault is cleared
/// writes work again without a restart, and `PRAGMA integrity_check` says ok with every
/// acknowledged write in the file.
///
/// How the faults are made, as root (CI runs as root; elsewhere the test says it cannot mount
/// and stops). Disk full: the database lives on a 16 MiB tmpfs mounted for the test, and a filler
/// file is written until `ENOSPC`; SQLite answers "database or disk is full" once its WAL needs a
/// new page (writes into WAL pages already allocated still succeed, so the test writes until the
/// first refusal). Read-only: `chmod` does not stop root, so it is `chattr +i` on the database and
/// its `-wal`, on the temporary folder's file system (tmpfs checks the flag only when a file is
/// opened): the open connections' writes fail with "disk I/O error", and a connection opened
/// meanwhile is opened read-only by SQLite ("attempt to write a readonly database"; the pool
/// drops such a connection so it cannot outlive the fault). The `-shm` file is left alone: SQLite
/// maps it into memory, and a write to a mapped immutable file is a SIGBUS. Remounting read-only
/// is refused while the files are open for writing, and `PRAGMA max_page_count` is per
/// connection, so neither is a real fault.
#[tokio::test]
async fn a_full_or_read_only_disk_answers_503_and_recovers_without_corruption() {
    if backend() != Backend::Sqlite {
        return;
    }
    let Some(disk) = SmallDisk::mount("16m") else {
        eprintln!(
            "cannot mount a tmpfs (not root?): the SQLite storage faults are not tested here"
        );
        return;
    };
    let file = disk.path.join("test.db");
    let url = format!("sqlite://{}", file.display());
    let app = spawn_app_with(&[
        ("CONNECT_DATABASE_URL", &url),
        ("CONNECT_MAIL_WORKER", "false"),
    ])
    .await;
    let token = app.admin_token().await;
    let (created, refused) = create_until_refused(&app, &token, "Before", 3).await;
    assert_eq!((created, refused.is_none()), (3, true));

    // Disk full.
    disk.fill();
    let (full_created, refused) = create_until_refused(&app, &token, "Full", 5000).await;
    let problem = refused.expect("a write was refused on the full disk");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("disk is full or read-only"), "{detail}");
    assert!(
        !detail.contains("SQLite") && !detail.contains("database or disk"),
        "{detail}"
    );
    assert_eq!(app.get("/api/v1/organisations", &token).await.status(), 200);
    assert_eq!(app.get_anon("/readyz").await.status(), 200);
    // Still refused, not half-written.
    let (again, _) = create_until_refused(&app, &token, "Still full", 1).await;
    assert_eq!(again, 0);
    std::fs::remove_file(disk.path.join("filler")).unwrap();
    let (created, refused) = create_until_refused(&app, &token, "After full", 3).await;
    assert_eq!((created, refused.is_none()), (3, true));
    assert_eq!(
        sqlite_file_state(&file, "Full"),
        ("ok".into(), full_created)
    );

    drop(app);

    // Read-only, on the temporary folder's own file system: tmpfs checks the immutable flag only
    // when a file is opened, so open connections would go on writing there.
    let app = spawn_app_with(&[("CONNECT_MAIL_WORKER", "false")]).await;
    let token = app.admin_token().await;
    let file = std::path::PathBuf::from(app.database_url.trim_start_matches("sqlite://"));
    let (created, _) = create_until_refused(&app, &token, "Before", 3).await;
    assert_eq!(created, 3);
    let frozen = Frozen(file.clone());
    immutable(&file, true);
    let (created, refused) = create_until_refused(&app, &token, "Read-only", 3).await;
    assert_eq!((created, refused.is_some()), (0, true));
    assert_eq!(app.get("/api/v1/organisations", &token).await.status(), 200);
    drop(frozen);
    let (created, refused) = create_until_refused(&app, &token, "After read-only", 3).await;
    assert_eq!((created, refused.is_none()), (3, true));
    assert_eq!(sqlite_file_state(&file, "After"), ("ok".into(), 3));
    assert_eq!(sqlite_file_state(&file, "Read-only").1, 0);
    drop(app);
}

/// What a stopping mail worker leaves: the messages it claimed and did not send are pending
/// again, due now, their attempt undone and no longer claimed; another worker's claims are not
/// touched. (`.ci/faults.sh` sends SIGTERM to the release binary while it drains a backlog.)
#[tokio::test]
async fn a_stopping_worker_puts_back_only_its_own_claims() {
    use connect::notifications::repo::{claim, release};
    use connect::schema::notifications as n;
    use diesel::prelude::*;
    let app = spawn_app_with(&[("CONNECT_MAIL_WORKER", "false")]).await;
    let admin = app.admin_token().await;
    for i in 0..3 {
        let res = app
            .post(
                "/api/v1/invitations",
                &admin,
                &serde_json::json!({"email": format!("invitee-{i}@example.org"), "role": "admin"}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let mut conn = app.db_conn();
    let stale = chrono::TimeDelta::seconds(300);
    assert_eq!(claim(&mut conn, "stopping", 2, stale).unwrap().len(), 2);
    assert_eq!(claim(&mut conn, "other", 10, stale).unwrap().len(), 1);

    assert_eq!(release(&mut conn, "stopping").unwrap(), 2);
    let rows: Vec<(String, Option<String>, i32)> = n::table
        .select((n::state, n::claimed_by, n::attempts))
        .order(n::state.asc())
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("pending".into(), None, 0),
            ("pending".into(), None, 0),
            ("sending".into(), Some("other".into()), 1),
        ]
    );
    assert_eq!(release(&mut conn, "stopping").unwrap(), 0);
    // Put back, they are due at once.
    assert_eq!(claim(&mut conn, "next", 10, stale).unwrap().len(), 2);
}
