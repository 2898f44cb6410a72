//! Hostile input (issue 13): each attack gets its problem answer, and nothing changes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ORGS: &str = "/api/v1/organisations";
/// The JWT secret the test servers are started with.
const SECRET: &str = "test-secret-test-secret-test-secret-0123";

async fn login_from(app: &TestApp, address: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": ADMIN_EMAIL, "password": password}))
        .send()
        .await
        .unwrap()
}

/// How many organisations and audit events there are: what an attack must not change.
async fn footprint(app: &TestApp, admin: &str) -> (usize, usize) {
    let orgs = app
        .list_items(&format!("{ORGS}?limit=200"), admin)
        .await
        .len();
    let events = app
        .list_items("/api/v1/audit-events?limit=200", admin)
        .await
        .len();
    (orgs, events)
}

#[tokio::test]
async fn a_thousand_wrong_passwords_from_one_address_are_throttled_and_the_owner_still_gets_in() {
    let app = spawn_app_with(&[("CONNECT_TRUSTED_PROXY_HOPS", "1")]).await;
    let attacker = "203.0.113.99";
    let mut unauthenticated = 0;
    let mut throttled = 0;
    for i in 0..1000 {
        let res = login_from(&app, attacker, &format!("guess number {i}")).await;
        match res.status() {
            StatusCode::UNAUTHORIZED => unauthenticated += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers().get("retry-after").is_some());
                throttled += 1;
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    assert!(
        unauthenticated <= 5,
        "{unauthenticated} guesses were judged"
    );
    assert_eq!(unauthenticated + throttled, 1000);
    // The right password from the attacker's address is refused too; from the owner's, it works.
    let res = login_from(&app, attacker, ADMIN_PASSWORD).await;
    assert_problem(res, 429, "too-many-requests").await;
    let res = login_from(&app, "198.51.100.20", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn hostile_bodies_get_their_problem_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = footprint(&app, &admin).await;
    let post = |body: Vec<u8>| {
        let req = app
            .client
            .post(app.url(ORGS))
            .bearer_auth(&admin)
            .header("Content-Type", "application/json")
            .body(body);
        async move { req.send().await.unwrap() }
    };
    // 10 MB announced: refused by its length, before a byte of it is read.
    assert!(
        announce_10_mb(&app, &admin)
            .await
            .starts_with("HTTP/1.1 413"),
        "a 10 MB body is refused with 413"
    );
    // Nested 20,000 deep (inside the size limit).
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)).into_bytes();
    let problem = assert_documented_problem(post(deep).await).await;
    assert!(
        matches!(problem["status"].as_u64(), Some(400 | 422)),
        "{problem}"
    );
    let deep_object = format!(
        r#"{{"name": "Deep", "kind": "pharma", "sector": "private", "website": {}1{}}}"#,
        r#"{"a":"#.repeat(5_000),
        "}".repeat(5_000)
    )
    .into_bytes();
    let problem = assert_documented_problem(post(deep_object).await).await;
    assert!(
        matches!(problem["status"].as_u64(), Some(400 | 422)),
        "{problem}"
    );
    // Invalid UTF-8 inside a string.
    let mut bad = br#"{"name": "Caf"#.to_vec();
    bad.extend([0xC3, 0x28, 0xFF]);
    bad.extend(br#"", "kind": "pharma", "sector": "private"}"#);
    assert_problem(post(bad).await, 400, "invalid-json").await;
    // An oversized page.
    let res = app.get(&format!("{ORGS}?limit=100000000"), &admin).await;
    assert_problem(res, 422, "validation-failed").await;
    let res = app
        .get(&format!("{ORGS}?limit=99999999999999999999999"), &admin)
        .await;
    assert_problem(res, 422, "validation-failed").await;
    assert_eq!(footprint(&app, &admin).await, before, "nothing changed");

    // SQL-looking and script text is only text: stored and returned as written, found by
    // search as written, and the tables are whole.
    for name in [
        "Robert'); DROP TABLE organisations;--",
        "x' OR '1'='1",
        "<script>alert(1)</script> Pharma",
    ] {
        let org = expect(
            app.post(
                ORGS,
                &admin,
                &json!({"name": name, "kind": "pharma", "sector": "private"}),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(org["name"], name);
        let found = app
            .list_items(&format!("{ORGS}?q={}", urlencode(name)), &admin)
            .await;
        assert_eq!(names_of(&found), [name], "{name}");
    }
    let res = app
        .get(&format!("{ORGS}?q={}", urlencode("' OR 1=1 --")), &admin)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["items"], json!([]));
    assert_eq!(footprint(&app, &admin).await.0, before.0 + 3);
}

/// Sends the head of a POST announcing a 10 MB JSON body, then reads the answer without sending
/// the body: the status line.
async fn announce_10_mb(app: &TestApp, token: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {ORGS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"name\": \"",
        10 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A token like the service's own with `claims` changed, signed with `secret` (`None`: the
/// unsigned `alg: none` form).
fn forge(genuine: &str, claims: impl FnOnce(&mut Value), secret: Option<&str>) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = genuine.split('.').nth(1).unwrap();
    let mut c: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    claims(&mut c);
    match secret {
        Some(secret) => jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &c,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap(),
        None => format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(c.to_string())
        ),
    }
}

#[tokio::test]
async fn forged_expired_and_ended_credentials_get_401_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let before = footprint(&app, &admin).await;
    let now = chrono::Utc::now().timestamp();
    let mut forged = vec![
        ("alg none", forge(&admin, |_| {}, None)),
        (
            "another secret",
            forge(
                &admin,
                |_| {},
                Some("another-secret-another-secret-0123456"),
            ),
        ),
        (
            "expired",
            forge(
                &admin,
                |c| {
                    c["iat"] = json!(now - 7200);
                    c["exp"] = json!(now - 3600);
                },
                Some(SECRET),
            ),
        ),
        (
            "another audience",
            forge(&admin, |c| c["aud"] = json!("someone-else"), Some(SECRET)),
        ),
        ("garbage", "not.a.token".to_owned()),
    ];
    // A deactivated user's still unexpired token.
    let ola = app
        .create_user(&admin, "ola@example.org", "admin", None)
        .await;
    let ola_token = app.login("ola@example.org", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .client
        .post(app.url(&format!("/api/v1/users/{}/deactivate", id_of(&ola))))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    forged.push(("deactivated user", ola_token));
    let after_setup = footprint(&app, &admin).await;
    assert!(after_setup.1 > before.1);
    for (what, token) in &forged {
        let res = app.get("/api/v1/me", token).await;
        assert_eq!(res.status(), 401, "{what}");
        assert_problem(res, 401, "unauthenticated").await;
        let res = app
            .post(
                ORGS,
                token,
                &json!({"name": format!("Made with {what}"), "kind": "pharma", "sector": "private"}),
            )
            .await;
        assert_eq!(res.status(), 401, "{what}");
    }
    assert_eq!(
        footprint(&app, &admin).await,
        after_setup,
        "nothing changed"
    );

    // A refresh token rotated away: refused, and it ends its whole family.
    let session = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let old = session["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let req = app
            .client
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({"refresh_token": token}));
        async move { req.send().await.unwrap() }
    };
    let rotated = expect(refresh(old.clone()).await, 200).await;
    assert_problem(refresh(old).await, 401, "unauthenticated").await;
    let newer = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_problem(refresh(newer).await, 401, "unauthenticated").await;
}
