//! The OpenAPI document: the committed `openapi/openapi.json` is what the code generates (regenerate
//! with `UPDATE_OPENAPI=1 cargo test --test api openapi`), the server serves the same document, it
//! documents every operation fully, and the docs UI works offline.

use std::collections::BTreeSet;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn generated() -> String {
    connect::openapi::to_pretty_json(&connect::startup::openapi())
}

fn spec() -> Value {
    serde_json::from_str(&generated()).unwrap()
}

/// Every operation under `/api/`: (method, path, operation).
fn api_operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(out.len() > 20, "the API has its operations: {}", out.len());
    out
}

#[test]
fn committed_spec_is_up_to_date() {
    let generated = generated();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var("UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (c, g))| c != g)
            .map(|(i, (c, g))| format!("line {}:\n  committed: {c}\n  generated: {g}", i + 1))
            .unwrap_or_else(|| {
                format!(
                    "the end: the committed file has {} lines, the generated document {}",
                    committed.lines().count(),
                    generated.lines().count()
                )
            });
        panic!(
            "openapi/openapi.json is stale (or missing): the code generates another document.\n\
             Run `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit the file.\n\
             First difference at {first_difference}"
        );
    }
}

#[tokio::test]
async fn the_server_serves_the_generated_document() {
    let app = spawn_app().await;
    let res = app.get_anon("/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let served: Value = res.json().await.unwrap();
    assert_eq!(served, spec());
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[test]
fn every_api_operation_has_a_summary_a_success_and_a_500_response() {
    let spec = spec();
    let mut missing = Vec::new();
    for (method, path, op) in api_operations(&spec) {
        let responses = op["responses"].as_object().unwrap();
        if op["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
            missing.push(format!("{method} {path}: no summary"));
        }
        if !responses.keys().any(|s| s.starts_with('2')) {
            missing.push(format!("{method} {path}: no 2xx response"));
        }
        if !responses.contains_key("500") {
            missing.push(format!("{method} {path}: no 500 response"));
        }
        if op["tags"].as_array().is_none_or(Vec::is_empty) {
            missing.push(format!("{method} {path}: no tag"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
fn operation_ids_are_unique() {
    let spec = spec();
    let mut seen = BTreeSet::new();
    for (method, path, op) in api_operations(&spec) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        assert!(!id.is_empty(), "{method} {path}");
        assert!(seen.insert(id.clone()), "{method} {path}: duplicate {id}");
    }
}

#[test]
fn every_operation_but_the_session_ones_is_secured_and_documents_401_and_403() {
    let spec = spec();
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("bearer") && schemes.contains_key("api_token"));
    for (method, path, op) in api_operations(&spec) {
        // Sessions start here, and one-time links from e-mails carry their own credential.
        let public = [
            "/auth/login",
            "/auth/refresh",
            "/auth/logout",
            "/auth/password-reset",
            "/auth/password-reset/confirm",
            "/invitations/{token}",
            "/invitations/{token}/accept",
        ]
        .iter()
        .any(|p| path.ends_with(p));
        let security = op["security"].as_array().cloned().unwrap_or_default();
        if public {
            assert!(security.is_empty(), "{method} {path} needs no credential");
            continue;
        }
        assert!(!security.is_empty(), "{method} {path} has no security");
        for s in &security {
            for name in s.as_object().unwrap().keys() {
                assert!(schemes.contains_key(name), "{method} {path}: {name}");
            }
        }
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.contains_key("401"), "{method} {path}");
        assert!(responses.contains_key("403"), "{method} {path}");
    }
}

#[test]
fn versioned_writes_document_if_match_412_and_428() {
    let spec = spec();
    let mut checked = 0;
    for (method, path, op) in api_operations(&spec) {
        if !(method == "patch" || method == "delete") || path.starts_with("/api/v1/api-tokens") {
            continue;
        }
        checked += 1;
        let params = op["parameters"].to_string();
        assert!(
            params.contains("#/components/parameters/IfMatch"),
            "{method} {path}"
        );
        let responses = op["responses"].as_object().unwrap();
        for status in ["412", "428"] {
            assert!(responses.contains_key(status), "{method} {path}: {status}");
        }
    }
    assert!(checked >= 4, "{checked}");
    assert_eq!(
        spec["components"]["parameters"]["IfMatch"]["required"],
        true
    );
}

#[test]
fn creating_posts_document_the_idempotency_key_and_bodies_document_their_errors() {
    let spec = spec();
    for path in [
        "/api/v1/organisations",
        "/api/v1/people",
        "/api/v1/users",
        "/api/v1/api-tokens",
        "/api/v1/organisations/{id}/membership-changes",
    ] {
        let op = &spec["paths"][path]["post"];
        assert!(op.is_object(), "POST {path}");
        assert!(
            op["parameters"]
                .to_string()
                .contains("#/components/parameters/IdempotencyKey"),
            "POST {path}"
        );
        assert_eq!(op["requestBody"]["required"], true, "POST {path}");
        let responses = op["responses"].as_object().unwrap();
        for status in ["201", "400", "413", "415", "422"] {
            assert!(responses.contains_key(status), "POST {path}: {status}");
        }
    }
    assert!(
        spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
            .as_object()
            .unwrap()
            .contains_key("429")
    );
}

#[test]
fn the_description_lists_every_problem_type() {
    let spec = spec();
    let description = spec["info"]["description"].as_str().unwrap();
    for (slug, status, _) in connect::error::PROBLEM_TYPES {
        assert!(
            description.contains(&format!("`/problems/{slug}` ({status})")),
            "{slug} is not documented"
        );
    }
    let problem = &spec["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(
            problem["properties"].get(field).is_some(),
            "Problem.{field}"
        );
    }
}

#[tokio::test]
async fn docs_redirect_to_docs_slash_which_serves_the_vendored_ui() {
    let app = spawn_app().await;
    let res = app.get_anon("/docs").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/docs/");

    let res = app.get_anon("/docs/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(html.to_lowercase().contains("<html"), "{html}");
    assert!(html.contains("swagger-ui"), "{html}");
    // The UI's assets come from this server, not from a CDN.
    assert!(
        !html.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    let res = app.get_anon("/docs/swagger-ui-bundle.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get_anon("/docs/swagger-initializer.js").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("/openapi.json"));
}
