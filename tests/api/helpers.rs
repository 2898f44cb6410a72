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
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
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
    let app = Application::build(settings).await.expect("the app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        database_url,
        pg_database,
        handle,
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
