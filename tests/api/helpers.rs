//! `spawn_app()` and the helpers every test uses.

use std::collections::BTreeMap;

use connect::config::Settings;
use connect::startup::Application;
use diesel::{Connection, RunQueryDsl};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_EMAIL: &str = "admin@connect.test";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const USER_PASSWORD: &str = "representative-password-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("CONNECT_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// The first line of a PostgreSQL-only test, which is marked
/// `#[ignore = "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres cargo test -- --include-ignored"]`
/// so that SQLite runs list it as ignored with that reason, and CI runs it on PostgreSQL with
/// `--include-ignored`. Run on SQLite anyway, it fails rather than passing without testing anything.
pub fn require_postgres() {
    assert_eq!(
        backend(),
        Backend::Postgres,
        "PostgreSQL only: run with CONNECT_TEST_DATABASE=postgres"
    );
}

fn postgres_base() -> String {
    std::env::var("CONNECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub database_url: String,
    pg_database: Option<String>,
    handle: actix_web::dev::ServerHandle,
    /// The thread the server runs on, in an actix system of its own (joined on drop).
    server: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop is sent at once; the server runs on its own thread, so waiting here for that
        // thread cannot block it: its workers, pool and background jobs end with the test
        // instead of piling up.
        drop(self.handle.stop(false));
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        if let Some(name) = self.pg_database.take() {
            if let Ok(mut conn) =
                diesel::PgConnection::establish(&format!("{}/postgres", postgres_base()))
            {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}

/// A server on a free port with a fresh database and the first admin created.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with extra `CONNECT_*` settings.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, pg_database) = match backend() {
        Backend::Sqlite => (
            format!("sqlite://{}", dir.path().join("test.db").display()),
            None,
        ),
        Backend::Postgres => {
            let name = format!("connect_test_{}", uuid::Uuid::now_v7().simple());
            let base = postgres_base();
            let n = name.clone();
            tokio::task::spawn_blocking(move || {
                let mut conn = diesel::PgConnection::establish(&format!("{base}/postgres"))
                    .expect("PostgreSQL is reachable");
                diesel::sql_query(format!("CREATE DATABASE \"{n}\""))
                    .execute(&mut conn)
                    .unwrap();
            })
            .await
            .unwrap();
            (format!("{}/{name}", postgres_base()), Some(name))
        }
    };
    start_on(database_url, pg_database, dir, extra).await
}

/// Starts a server on an existing database (the second instance of a pair shares the first one's).
async fn start_on(
    database_url: String,
    pg_database: Option<String>,
    dir: tempfile::TempDir,
    extra: &[(&str, &str)],
) -> TestApp {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("CONNECT_DATABASE_URL", database_url.as_str()),
        ("CONNECT_BIND", "127.0.0.1:0"),
        ("CONNECT_DATA_DIR", &dir.path().display().to_string()),
        (
            "CONNECT_JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        ),
        ("CONNECT_ADMIN_EMAIL", ADMIN_EMAIL),
        ("CONNECT_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("CONNECT_WORKERS", "1"),
        ("CONNECT_DB_POOL_SIZE", "4"),
    ] {
        env.insert(k.into(), v.into());
    }
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    let settings = Settings::from_sources(&env).unwrap();
    // Built and run on a thread of its own (not the test's runtime, which ends with the test
    // and would leave the server's worker threads running).
    let (started, ready) = tokio::sync::oneshot::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings).await.expect("the app starts");
            let _ = started.send((app.port(), app.handle()));
            let _ = app.run_until_stopped().await;
        })
    });
    let (port, handle) = ready.await.expect("the app starts");
    let address = format!("http://127.0.0.1:{port}");
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        database_url,
        pg_database,
        handle,
        server: Some(server),
        _dir: dir,
    }
}

/// A representative's session and organisation.
pub struct Rep {
    pub token: String,
    pub user_id: String,
    pub organisation_id: String,
    pub email: String,
}

impl TestApp {
    /// Another instance on the same database, as behind a load balancer.
    pub async fn second_instance(&self) -> TestApp {
        start_on(
            self.database_url.clone(),
            None,
            tempfile::tempdir().unwrap(),
            &[],
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_anon(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_anon(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(
        &self,
        path: &str,
        token: &str,
        etag: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut req = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body);
        if let Some(e) = etag {
            req = req.header("If-Match", e);
        }
        req.send().await.unwrap()
    }

    pub async fn delete(&self, path: &str, token: &str, etag: Option<&str>) -> Response {
        let mut req = self.client.delete(self.url(path)).bearer_auth(token);
        if let Some(e) = etag {
            req = req.header("If-Match", e);
        }
        req.send().await.unwrap()
    }

    /// Logs in and returns the whole token pair.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post_anon(
                "/api/v1/auth/login",
                &json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email} failed");
        res.json().await.unwrap()
    }

    pub async fn admin_token(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an organisation (as admin) and returns it.
    pub async fn create_org(&self, admin: &str, name: &str, kind: &str) -> Value {
        let mut body = json!({"name": name, "kind": kind, "sector": "private"});
        if kind == "hospital" {
            body["sector"] = json!("public");
            body["health_region"] = json!("south_east");
        }
        let res = self.post("/api/v1/organisations", admin, &body).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// Moves an organisation to `status` through allowed transitions (as admin).
    pub async fn set_status(&self, admin: &str, org_id: &str, status: &str) {
        let path: &[&str] = match status {
            "none" => &[],
            "applicant" => &["applicant"],
            "partner" => &["partner"],
            "observer" => &["observer"],
            "suspended" => &["partner", "suspended"],
            "withdrawn" => &["partner", "withdrawn"],
            other => panic!("unknown status {other}"),
        };
        for to in path {
            let res = self
                .post(
                    &format!("/api/v1/organisations/{org_id}/membership-changes"),
                    admin,
                    &json!({"to_status": to, "effective_date": "2024-01-01", "reason": "test"}),
                )
                .await;
            assert_eq!(
                res.status(),
                StatusCode::CREATED,
                "{}",
                res.text().await.unwrap()
            );
        }
    }

    /// Creates a user (as admin) and returns it.
    pub async fn create_user(
        &self,
        admin: &str,
        email: &str,
        role: &str,
        org_id: Option<&str>,
    ) -> Value {
        let res = self
            .post(
                "/api/v1/users",
                admin,
                &json!({"email": email, "display_name": email, "role": role, "organisation_id": org_id, "password": USER_PASSWORD}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// An organisation with `status` and a logged-in representative of it.
    pub async fn rep(&self, admin: &str, org_name: &str, status: &str) -> Rep {
        let org = self.create_org(admin, org_name, "pharma").await;
        let org_id = org["id"].as_str().unwrap().to_owned();
        self.set_status(admin, &org_id, status).await;
        let role = if status == "observer" {
            "observer_representative"
        } else {
            "partner_representative"
        };
        let email = format!("rep@{}.test", org_name.to_lowercase().replace(' ', "-"));
        let user = self.create_user(admin, &email, role, Some(&org_id)).await;
        let token = self.login(&email, USER_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        Rep {
            token,
            user_id: user["id"].as_str().unwrap().to_owned(),
            organisation_id: org_id,
            email,
        }
    }
}

/// The ETag header of a response.
pub fn etag(res: &Response) -> String {
    res.headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Asserts a problem response with this status and type slug; returns the problem.
pub async fn assert_problem(res: Response, status: u16, slug: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "content type");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["type"], format!("/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status);
    body
}

// Helpers for the auth, tokens, users, idempotency and errors tests.

impl TestApp {
    /// The caller as `GET /api/v1/me` describes them (asserting 200).
    pub async fn me(&self, token: &str) -> Value {
        let res = self.get("/api/v1/me", token).await;
        assert_eq!(res.status(), StatusCode::OK, "GET /me");
        res.json().await.unwrap()
    }

    /// The current `ETag` of a record as `token` reads it, for a write's `If-Match` (`If-Match: *`
    /// is refused); `"1"` when it cannot be read (a missing or hidden record).
    pub async fn current_etag(&self, path: &str, token: &str) -> String {
        let res = self.get(path, token).await;
        res.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .filter(|e| !e.starts_with("W/"))
            .unwrap_or("\"1\"")
            .to_owned()
    }

    /// Creates an API token with `scopes` from a login session; returns (id, secret).
    pub async fn create_api_token(&self, session: &str, scopes: &[&str]) -> (String, String) {
        let res = self
            .post(
                "/api/v1/api-tokens",
                session,
                &json!({"name": "test token", "scopes": scopes}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        let body: Value = res.json().await.unwrap();
        (
            body["id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// A `POST` with an `Idempotency-Key`.
    pub async fn post_idempotent(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The audit events matching `query` (e.g. `record_type=user&action=user.created`), newest
    /// first (the first page of up to 200).
    pub async fn audit_events(&self, admin: &str, query: &str) -> Vec<Value> {
        let res = self
            .get(&format!("/api/v1/audit-events?limit=200&{query}"), admin)
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap()
        );
        let body: Value = res.json().await.unwrap();
        body["items"].as_array().unwrap().clone()
    }

    /// A direct connection to this test's database, to check what is stored.
    pub fn db_conn(&self) -> connect::db::DbConn {
        use diesel::connection::SimpleConnection;
        match backend() {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://");
                let mut conn = diesel::SqliteConnection::establish(path).unwrap();
                conn.batch_execute("PRAGMA busy_timeout = 5000;").unwrap();
                connect::db::DbConn::Sqlite(conn)
            }
            Backend::Postgres => connect::db::DbConn::Pg(
                diesel::PgConnection::establish(&self.database_url).unwrap(),
            ),
        }
    }
}

/// Asserts a response carries a problem whose type is one of the documented ones, with that
/// type's status and title and a non-empty detail; returns the problem.
pub async fn assert_documented_problem(res: Response) -> Value {
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "content type ({status})");
    let body: Value = res.json().await.unwrap();
    let slug = body["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("/problems/"))
        .unwrap_or_else(|| panic!("no /problems/ type: {body}"));
    let kind = connect::error::ProblemType::from_slug(slug)
        .unwrap_or_else(|| panic!("undocumented problem type {slug}"));
    assert_eq!(kind.status().as_u16(), status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["title"], kind.title(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

// Helpers for the organisations, people, policy and operations tests.

impl TestApp {
    /// Any request, with an optional JSON body and `If-Match`.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        if_match: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(e) = if_match {
            req = req.header("If-Match", e);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// A `GET` asking for `Accept: text/csv`.
    pub async fn get_csv(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap()
    }

    /// A `GET` that must answer 200; returns the JSON body.
    pub async fn get_ok(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, token).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The `items` of a list that must answer 200.
    pub async fn list_items(&self, path: &str, token: &str) -> Vec<Value> {
        self.get_ok(path, token).await["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Creates a contact (as `token`, asserting 201) and returns it.
    pub async fn create_contact(
        &self,
        token: &str,
        org_id: Option<&str>,
        name: &str,
        email: &str,
    ) -> Value {
        let mut body = json!({"name": name, "email": email});
        if let Some(org) = org_id {
            body["organisation_id"] = json!(org);
        }
        let res = self.post("/api/v1/people", token, &body).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }

    /// Records one membership change (as admin), asserting 201; returns the change.
    pub async fn change_status(&self, admin: &str, org_id: &str, to: &str, date: &str) -> Value {
        let res = self
            .post(
                &format!("/api/v1/organisations/{org_id}/membership-changes"),
                admin,
                &json!({"to_status": to, "effective_date": date, "reason": "board decision"}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
        res.json().await.unwrap()
    }
}

/// The `id` of a JSON record.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// The `name`s of a list of records, in order.
pub fn names_of(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 422 problem that names `field` with `code`.
pub async fn assert_field_error(res: Response, field: &str, code: &str) -> Value {
    let body = assert_problem(res, 422, "validation-failed").await;
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == field && e["code"] == code),
        "expected {field}/{code} in {body}"
    );
    body
}

// Helpers for the notifications, invitations and password-reset tests.

impl TestApp {
    /// This instance's `CONNECT_DATA_DIR` (a temporary directory; `.eml` files go under `mail/`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// Like [`TestApp::second_instance`], with extra `CONNECT_*` settings.
    pub async fn second_instance_with(&self, extra: &[(&str, &str)]) -> TestApp {
        start_on(
            self.database_url.clone(),
            None,
            tempfile::tempdir().unwrap(),
            extra,
        )
        .await
    }
}

/// Asserts a status, showing the body when it differs; returns the body (null when not JSON).
pub async fn expect(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A representative of an organisation whose account is linked to a person of it, so the seats
/// that person holds in bodies are theirs.
pub struct Member {
    pub token: String,
    pub person_id: String,
    pub organisation_id: String,
    pub email: String,
    /// The e-mail address of the member's person (invitations go there, not to the account's).
    pub person_email: String,
}

impl TestApp {
    /// Links an account to a person (as admin).
    pub async fn link_person(&self, admin: &str, user_id: &str, person_id: &str) {
        let path = format!("/api/v1/users/{user_id}");
        let etag = self.current_etag(&path, admin).await;
        expect(
            self.patch(&path, admin, Some(&etag), &json!({"person_id": person_id}))
                .await,
            200,
        )
        .await;
    }

    /// An organisation with `status`, a person of it, and its representative's account linked
    /// to that person.
    pub async fn member(&self, admin: &str, org: &str, status: &str) -> Member {
        let rep = self.rep(admin, org, status).await;
        let email = format!("person@{}.test", org.to_lowercase().replace(' ', "-"));
        let person = self
            .create_contact(
                admin,
                Some(&rep.organisation_id),
                &format!("{org} Person"),
                &email,
            )
            .await;
        let person_id = id_of(&person);
        self.link_person(admin, &rep.user_id, &person_id).await;
        Member {
            token: rep.token,
            person_id,
            organisation_id: rep.organisation_id,
            email: rep.email,
            person_email: email,
        }
    }

    /// Seats a member in a body from today (as admin).
    pub async fn seat_member(&self, admin: &str, body: &str, m: &Member, role: &str) {
        let today = chrono::Utc::now().date_naive().to_string();
        expect(
            self.post(
                &format!("/api/v1/bodies/{body}/members"),
                admin,
                &json!({"person_id": m.person_id, "role": role, "from_date": today}),
            )
            .await,
            201,
        )
        .await;
    }
}

/// A working group (as admin), its id.
pub async fn working_group(app: &TestApp, admin: &str, name: &str) -> String {
    id_of(
        &expect(
            app.post(
                "/api/v1/bodies",
                admin,
                &json!({"kind": "working_group", "name": name}),
            )
            .await,
            201,
        )
        .await,
    )
}

/// Two working groups: WG1 chaired by `chair` with `a` a member; WG2 with `b` a member;
/// `outsider` a member of the consortium in neither.
pub struct Groups {
    pub admin: String,
    pub wg1: String,
    pub wg2: String,
    pub chair: Member,
    pub a: Member,
    pub b: Member,
    pub outsider: Member,
}

/// [`Groups`], made through the API.
pub async fn groups(app: &TestApp) -> Groups {
    let admin = app.admin_token().await;
    let wg1 = working_group(app, &admin, "WG1").await;
    let wg2 = working_group(app, &admin, "WG2").await;
    let chair = app.member(&admin, "Chair Hospital", "partner").await;
    let a = app.member(&admin, "Alpha Pharma", "partner").await;
    let b = app.member(&admin, "Beta Pharma", "partner").await;
    let outsider = app.member(&admin, "Outside Ltd", "partner").await;
    app.seat_member(&admin, &wg1, &chair, "chair").await;
    app.seat_member(&admin, &wg1, &a, "member").await;
    app.seat_member(&admin, &wg2, &b, "member").await;
    Groups {
        admin,
        wg1,
        wg2,
        chair,
        a,
        b,
        outsider,
    }
}
