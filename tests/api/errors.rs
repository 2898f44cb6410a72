//! Every error is an RFC 9457 problem with a documented type: bad JSON, unknown fields, big bodies,
//! wrong content types, bad ids and query values, unknown routes, and the ETag preconditions. Every
//! response carries an `X-Request-Id`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ORGS: &str = "/api/v1/organisations";

async fn post_raw(
    app: &TestApp,
    path: &str,
    token: &str,
    ct: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).bearer_auth(token).body(body);
    if let Some(ct) = ct {
        req = req.header("Content-Type", ct);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for body in [
        r#"{"name": "Roche"#,
        "not json",
        r#"{"name": "x", "kind": "pharma", "sector": "private"} trailing"#,
        "",
    ] {
        let res = post_raw(&app, ORGS, &admin, Some("application/json"), body).await;
        let problem = assert_documented_problem(res).await;
        assert_eq!(
            problem["type"], "/problems/invalid-json",
            "{body:?}: {problem}"
        );
        assert_eq!(problem["status"], 400);
    }
    // Login (unauthenticated) too.
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(res, 400, "invalid-json").await;
}

#[tokio::test]
async fn an_unknown_field_is_422_with_code_unknown_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"name": "Roche Norge", "kind": "pharma", "sector": "private", "colour": "blue"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(
        problem["errors"],
        json!([{"field": "colour", "code": "unknown_field", "message": problem["errors"][0]["message"]}])
    );
    // In login too, and on PATCH.
    let res = app
        .post_anon(
            "/api/v1/auth/login",
            &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "remember": true}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["code"], "unknown_field");
    let org = app.create_org(&admin, "Roche Norge", "pharma").await;
    let res = app
        .patch(
            &format!("{ORGS}/{}", id_of(&org)),
            &admin,
            Some("\"1\""),
            &json!({"membership_status": "partner"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "membership_status");
    assert_eq!(problem["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_named_in_the_errors() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"kind": "pharma", "sector": "private"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "name");
    assert_eq!(problem["errors"][0]["code"], "required");
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"name": 42, "kind": "pharma", "sector": "private"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "name");
    assert_eq!(problem["errors"][0]["code"], "invalid_type");
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"name": "X", "kind": "spaceship", "sector": "private"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "kind");
    assert_eq!(problem["errors"][0]["code"], "invalid_value");
    // A JSON value that is not an object.
    let res = app.post(ORGS, &admin, &json!(["Roche"])).await;
    assert_problem(res, 422, "validation-failed").await;
}

#[tokio::test]
async fn every_missing_unknown_and_mistyped_field_is_named_at_once() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app.post(ORGS, &admin, &json!({})).await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    let mut found: Vec<(String, String)> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect()
    };
    assert_eq!(
        found,
        expected(&[
            ("kind", "required"),
            ("name", "required"),
            ("sector", "required")
        ])
    );
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"name": 42, "short_name": true, "colour": "blue", "sector": "private"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    let mut found: Vec<(String, String)> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        expected(&[
            ("colour", "unknown_field"),
            ("kind", "required"),
            ("name", "invalid_type"),
            ("short_name", "invalid_type")
        ])
    );
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_payload_too_large() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let big =
        json!({"name": "x".repeat(65 * 1024), "kind": "pharma", "sector": "private"}).to_string();
    assert!(big.len() > 64 * 1024);
    let res = post_raw(&app, ORGS, &admin, Some("application/json"), big.clone()).await;
    assert_problem(res, 413, "payload-too-large").await;
    // Also when the idempotency layer reads it first, and before authentication.
    let res = app
        .client
        .post(app.url(ORGS))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", "big")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload-too-large").await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_problem(res, 413, "payload-too-large").await;
    // A body just under the limit is read (and then judged on its merits).
    let fits = json!({"name": "x".repeat(60 * 1024), "kind": "pharma", "sector": "private"});
    let res = app.post(ORGS, &admin, &fits).await;
    assert_problem(res, 422, "validation-failed").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_unsupported_media_type() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let body = json!({"name": "Roche Norge", "kind": "pharma", "sector": "private"}).to_string();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let res = post_raw(&app, ORGS, &admin, ct, body.clone()).await;
        assert_problem(res, 415, "unsupported-media-type").await;
    }
    // JSON with a charset, or a +json type, is accepted.
    for ct in [
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let body = json!({"name": format!("Org {ct}"), "kind": "pharma", "sector": "private"});
        let res = post_raw(&app, ORGS, &admin, Some(ct), body.to_string()).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{ct}");
    }
}

#[tokio::test]
async fn a_bad_path_id_is_400_invalid_parameter() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (path, bad) in [
        ("/api/v1/organisations/not-a-uuid", "not-a-uuid"),
        ("/api/v1/organisations/123/people", "123"),
        ("/api/v1/organisations/123/membership-changes", "123"),
        ("/api/v1/people/xyz", "xyz"),
        ("/api/v1/users/1", "1"),
    ] {
        let res = app.get(path, &admin).await;
        let problem = assert_problem(res, 400, "invalid-parameter").await;
        assert_eq!(
            problem["detail"],
            format!("'{bad}' is not a valid id (a UUID is expected)"),
            "{path}: {problem}"
        );
    }
    let res = app.delete("/api/v1/api-tokens/nope", &admin, None).await;
    assert_problem(res, 400, "invalid-parameter").await;
    let res = app
        .patch(
            "/api/v1/users/nope",
            &admin,
            Some("\"1\""),
            &json!({"display_name": "x"}),
        )
        .await;
    assert_problem(res, 400, "invalid-parameter").await;
}

#[tokio::test]
async fn a_malformed_id_in_a_body_or_query_is_422_invalid_format_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let password = "a long and private passphrase";
    for (path, body, field) in [
        (
            "/api/v1/users",
            json!({"email": "a@connect.test", "display_name": "A", "role": "admin", "person_id": "p-1", "password": password}),
            "person_id",
        ),
        (
            "/api/v1/users",
            json!({"email": "b@connect.test", "display_name": "B", "role": "partner_representative", "organisation_id": "roche", "password": password}),
            "organisation_id",
        ),
        (
            "/api/v1/invitations",
            json!({"email": "c@connect.test", "role": "partner_representative", "organisation_id": "42"}),
            "organisation_id",
        ),
    ] {
        let res = app.post(path, &admin, &body).await;
        let problem = assert_field_error(res, field, "invalid_format").await;
        assert_eq!(
            problem["errors"][0]["message"], "must be a UUID",
            "{problem}"
        );
    }
    let person = app
        .post(
            "/api/v1/people",
            &admin,
            &json!({"name": "Kari", "email": "kari@connect.test"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let res = app
        .patch(
            &format!("/api/v1/people/{}", id_of(&person)),
            &admin,
            Some("\"1\""),
            &json!({"organisation_id": "alfa"}),
        )
        .await;
    assert_field_error(res, "organisation_id", "invalid_format").await;
    for query in ["users?organisation_id=x", "people?organisation_id=x"] {
        let res = app.get(&format!("/api/v1/{query}"), &admin).await;
        assert_field_error(res, "organisation_id", "invalid_format").await;
    }
}

#[tokio::test]
async fn bad_query_values_are_problems_naming_the_parameter() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (query, field, code) in [
        ("limit=ten", "limit", "invalid_value"),
        ("limit=0", "limit", "out_of_range"),
        ("limit=201", "limit", "out_of_range"),
        ("kind=spaceship", "kind", "invalid_value"),
        ("trial_site=perhaps", "trial_site", "invalid_value"),
        (
            "membership_status=partner,member",
            "membership_status",
            "invalid_value",
        ),
        ("sort=name", "sort", "unknown_parameter"),
    ] {
        let res = app.get(&format!("{ORGS}?{query}"), &admin).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
        assert_eq!(problem["errors"][0]["code"], code, "{query}: {problem}");
    }
    let res = app
        .get(&format!("{ORGS}?cursor=bm90LWEtY3Vyc29y"), &admin)
        .await;
    assert_problem(res, 400, "invalid-parameter").await;
    let res = app.get(&format!("{ORGS}?cursor=%%%"), &admin).await;
    let problem = assert_documented_problem(res).await;
    assert!(
        matches!(problem["status"].as_u64(), Some(400 | 422)),
        "{problem}"
    );
}

#[tokio::test]
async fn lists_default_to_50_items_and_page_with_next_cursor() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // API tokens are cheap to make (no password hashing): 51 of them.
    for _ in 0..51 {
        app.create_api_token(&admin, &["organisations:read"]).await;
    }
    let res = app.get("/api/v1/api-tokens", &admin).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let res = app
        .get(&format!("/api/v1/api-tokens?cursor={cursor}"), &admin)
        .await;
    let rest: Value = res.json().await.unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let res = app.get("/api/v1/api-tokens?limit=200", &admin).await;
    let all: Value = res.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 51);
    assert_eq!(all["next_cursor"], Value::Null);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_a_404_problem() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for path in [
        "/api/v1/nothing-here",
        "/nothing",
        "/api/v2/organisations",
        "/api/v1/organisations/",
    ] {
        let res = app.get(path, &admin).await;
        let problem = assert_problem(res, 404, "not-found").await;
        assert_eq!(problem["title"], "No such resource", "{path}");
    }
    let res = app
        .client
        .put(app.url(ORGS))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_documented_problem(res).await;
    let res = app.delete("/api/v1/users", &admin, Some("*")).await;
    assert_documented_problem(res).await;
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_sane_one_is_echoed() {
    let app = spawn_app().await;
    let send = |path: &'static str, id: Option<&'static str>| {
        let mut req = app.client.get(app.url(path));
        if let Some(id) = id {
            req = req.header("X-Request-Id", id);
        }
        req.send()
    };
    for path in ["/healthz", "/api/v1/me", "/api/v1/nothing", "/openapi.json"] {
        let res = send(path, None).await.unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(!id.is_empty() && id.len() <= 64, "{path}: {id}");
        let res = send(path, Some("client-req_42.a:b")).await.unwrap();
        assert_eq!(res.headers()["x-request-id"], "client-req_42.a:b", "{path}");
    }
    // Generated ids differ.
    let a = send("/healthz", None).await.unwrap().headers()["x-request-id"].clone();
    let b = send("/healthz", None).await.unwrap().headers()["x-request-id"].clone();
    assert_ne!(a, b);
    // An id that is not sane is replaced, not echoed.
    let long = "x".repeat(65);
    for bad in ["has spaces in it", "semi;colon", long.as_str()] {
        let res = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", bad)
            .send()
            .await
            .unwrap();
        let id = res.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert!(!id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

#[tokio::test]
async fn the_request_id_is_recorded_in_the_audit() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .client
        .post(app.url(ORGS))
        .bearer_auth(&admin)
        .header("X-Request-Id", "trace-0001")
        .json(&json!({"name": "Roche Norge", "kind": "pharma", "sector": "private"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["x-request-id"], "trace-0001");
    let events = app.audit_events(&admin, "request_id=trace-0001").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["action"], "organisation.created");
}

#[tokio::test]
async fn versioned_records_carry_an_etag_and_writes_need_if_match() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .post(
            ORGS,
            &admin,
            &json!({"name": "Roche Norge", "kind": "pharma", "sector": "private"}),
        )
        .await;
    assert_eq!(etag(&res), "\"1\"");
    let org: Value = res.json().await.unwrap();
    let path = format!("{ORGS}/{}", id_of(&org));
    assert_eq!(etag(&app.get(&path, &admin).await), "\"1\"");

    let change = json!({"short_name": "Roche"});
    let res = app.patch(&path, &admin, None, &change).await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app.patch(&path, &admin, Some("\"7\""), &change).await;
    assert_problem(res, 412, "precondition-failed").await;
    let res = app.patch(&path, &admin, Some("\"1\""), &change).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(etag(&res), "\"2\"");

    let res = app.delete(&path, &admin, None).await;
    assert_problem(res, 428, "precondition-required").await;
    let res = app.delete(&path, &admin, Some("\"1\"")).await;
    assert_problem(res, 412, "precondition-failed").await;
    // Any of several tags may match; `*` ("any version") is refused like a missing If-Match.
    let res = app.delete(&path, &admin, Some("\"1\", \"2\"")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .patch(&path, &admin, Some("*"), &json!({"short_name": "R"}))
        .await;
    let problem = assert_problem(res, 428, "precondition-required").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("ETag"),
        "{problem}"
    );
}

#[tokio::test]
async fn unauthenticated_requests_get_a_401_problem_with_www_authenticate() {
    let app = spawn_app().await;
    for (method, path) in [
        ("GET", ORGS),
        ("POST", ORGS),
        ("GET", "/api/v1/people"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/api-tokens"),
        ("GET", "/api/v1/audit-events"),
        ("POST", "/api/v1/me/password"),
    ] {
        let req = match method {
            "GET" => app.client.get(app.url(path)),
            _ => app.client.post(app.url(path)).json(&json!({})),
        };
        let res = req.send().await.unwrap();
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"connect\"",
            "{path}"
        );
        assert_problem(res, 401, "unauthenticated").await;
    }
    let res = app
        .client
        .get(app.url(ORGS))
        .header("Authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn problems_leak_no_internals() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let res = app
        .get(
            &format!("{ORGS}?q=%27%3B%20DROP%20TABLE%20organisations%3B--"),
            &admin,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = post_raw(
        &app,
        ORGS,
        &admin,
        Some("application/json"),
        "{\"name\": \"\\uZZZZ\"}",
    )
    .await;
    let problem = assert_documented_problem(res).await;
    let text = problem.to_string().to_lowercase();
    for leak in [
        "select ", "diesel", "sqlite", "postgres", "panicked", "src/",
    ] {
        assert!(!text.contains(leak), "{leak} in {problem}");
    }
}

#[tokio::test]
async fn a_chunked_body_over_64_kib_is_413_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {ORGS} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "x".repeat(8 * 1024);
    let mut sent = 0;
    // Stop writing once the server has answered (it need not read the rest).
    while sent <= 72 * 1024 {
        let frame = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("content-type: application/problem+json"),
        "{response}"
    );
    assert!(
        response.contains("/problems/payload-too-large"),
        "{response}"
    );
}

#[tokio::test]
async fn an_accept_header_admitting_nothing_the_api_sends_is_406() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let get = |path: &str, accept: &str| {
        app.client
            .get(app.url(path))
            .bearer_auth(&admin)
            .header("Accept", accept.to_owned())
            .send()
    };
    let res = get(ORGS, "application/xml").await.unwrap();
    let problem = assert_problem(res, 406, "not-acceptable").await;
    assert!(problem["detail"].is_string());
    // CSV only where a list offers it.
    let res = get("/api/v1/users", "text/csv").await.unwrap();
    assert_problem(res, 406, "not-acceptable").await;
    for accept in [
        "application/json",
        "*/*",
        "application/*",
        "application/problem+json",
        "text/html, application/xhtml+xml, */*;q=0.8",
    ] {
        let res = get(ORGS, accept).await.unwrap();
        assert_eq!(res.status(), 200, "{accept}");
    }
    let res = get(ORGS, "text/csv").await.unwrap();
    assert_eq!(res.status(), 200);
    // The browsers' pages are not negotiated.
    let res = app
        .client
        .get(app.url("/docs/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
