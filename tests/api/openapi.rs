//! The OpenAPI document: the committed `openapi/openapi.json` is what the code generates (regenerate
//! with `UPDATE_OPENAPI=1 cargo test --test api openapi`), the server serves the same document, it
//! documents every operation fully, and the docs UI works offline.
//!
//! "Fully" is checked against the server, not against `openapi::finish`: the probes send every
//! operation of the spec requests without a credential, with bad bodies, without `If-Match`, and
//! compare what it answers with what the spec, and the handler's own annotation, say.

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

/// What the handlers' annotations declare, before `openapi::finish` adds the shared parts.
fn declared() -> Value {
    serde_json::to_value(connect::startup::declared_openapi()).unwrap()
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

/// YAML readers (openapi-spec-validator, many generators) refuse the control characters JSON
/// lets through unescaped (DEL and the C1 range), so the document holds none: the text patterns
/// name them with `\uXXXX` regex escapes instead.
#[test]
fn the_document_is_readable_as_yaml() {
    let generated = generated();
    let refused: Vec<(usize, char)> = generated
        .char_indices()
        .filter(|(_, c)| {
            (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                || matches!(c, '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
        })
        .take(5)
        .collect();
    assert!(
        refused.is_empty(),
        "characters a YAML reader refuses, at byte offsets: {refused:?}"
    );
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

/// Summaries, tags and success responses come from the handlers' annotations alone.
#[test]
fn every_handler_declares_a_summary_a_tag_and_its_success() {
    let spec = declared();
    let mut missing = Vec::new();
    for (method, path, op) in api_operations(&spec) {
        let responses = op["responses"].as_object().unwrap();
        if op["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
            missing.push(format!("{method} {path}: no summary"));
        }
        if !responses.keys().any(|s| s.starts_with('2')) {
            missing.push(format!("{method} {path}: no 2xx response"));
        }
        if op["tags"].as_array().is_none_or(Vec::is_empty) {
            missing.push(format!("{method} {path}: no tag"));
        }
        if responses.contains_key("201") && responses["201"]["headers"].get("Location").is_none() {
            missing.push(format!("{method} {path}: a 201 without Location"));
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

/// What one operation answered to each probe.
#[derive(Debug, Default)]
struct Answers {
    /// No credential (a JSON `{}` body where the handler declares one).
    anonymous: u16,
    /// As the admin, an unknown id, a body with an unknown field, `If-Match: "1"` on writes.
    admin: u16,
    /// As the admin, a `text/plain` body.
    plain_text: u16,
    /// As the admin, malformed JSON and a body over 64 KiB (operations with a body).
    malformed: Option<u16>,
    too_large: Option<u16>,
    /// As the admin, a `PATCH` or `DELETE` without `If-Match`.
    no_if_match: Option<u16>,
    /// As the admin, a `GET` with `If-None-Match: *`.
    if_none_match: Option<u16>,
}

impl Answers {
    fn all(&self) -> Vec<(&'static str, u16)> {
        let mut out = vec![
            ("anonymous", self.anonymous),
            ("admin", self.admin),
            ("text/plain body", self.plain_text),
        ];
        for (name, status) in [
            ("malformed JSON", self.malformed),
            ("body over 64 KiB", self.too_large),
            ("no If-Match", self.no_if_match),
            ("If-None-Match: *", self.if_none_match),
        ] {
            if let Some(status) = status {
                out.push((name, status));
            }
        }
        out
    }
}

/// Sends the probes to every operation of the spec on one server: the operations come from the
/// spec, so a new route is probed without a change here.
async fn probe_every_operation() -> Vec<(String, String, Answers)> {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let unknown_field = serde_json::json!({"probe_unknown_field": true});
    let mut out = Vec::new();
    for (method, path, op) in api_operations(&declared()) {
        let url = app.url(
            &path
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
                .replace("{drug_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{member_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{item_id}", &uuid::Uuid::now_v7().to_string())
                .replace("{token}", "an-unknown-probe-token"),
        );
        let has_body = op.get("requestBody").is_some();
        let writes = method == "patch" || method == "delete";
        let request = |token: Option<&str>, if_match: bool| {
            let mut req = app
                .client
                .request(method.to_uppercase().parse().unwrap(), &url);
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            if if_match && writes {
                req = req.header("if-match", "\"1\"");
            }
            req
        };
        let status = |res: reqwest::Response| res.status().as_u16();
        let with_json = |req: reqwest::RequestBuilder, body: &Value| {
            if has_body { req.json(body) } else { req }
        };
        let send = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap() };
        let mut a = Answers {
            anonymous: status(send(with_json(request(None, true), &serde_json::json!({}))).await),
            admin: status(send(with_json(request(Some(&admin), true), &unknown_field)).await),
            plain_text: status(
                send(
                    request(Some(&admin), true)
                        .header("content-type", "text/plain")
                        .body("probe"),
                )
                .await,
            ),
            ..Answers::default()
        };
        if has_body {
            let json = |body: String| {
                request(Some(&admin), true)
                    .header("content-type", "application/json")
                    .body(body)
            };
            a.malformed = Some(status(send(json("{".into())).await));
            let large = format!("{{\"probe\": \"{}\"}}", "x".repeat(70 * 1024));
            a.too_large = Some(status(send(json(large)).await));
        }
        if writes {
            a.no_if_match = Some(status(
                send(with_json(request(Some(&admin), false), &unknown_field)).await,
            ));
        }
        if method == "get" {
            a.if_none_match = Some(status(
                send(request(Some(&admin), true).header("if-none-match", "*")).await,
            ));
        }
        out.push((method, path, a));
    }
    out
}

/// The spec documents every status the server really answers, and the handlers' own
/// annotations (not the shared parts `openapi::finish` adds to every operation) document the
/// successes and the 404s.
#[tokio::test]
async fn every_status_the_server_answers_is_documented_and_handlers_declare_their_own() {
    let (spec, declared) = (spec(), declared());
    let mut problems = Vec::new();
    for (method, path, answers) in probe_every_operation().await {
        let documented = spec["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap();
        let own = declared["paths"][&path][&method]["responses"]
            .as_object()
            .unwrap();
        for (probe, status) in answers.all() {
            let status = status.to_string();
            if !documented.contains_key(&status) {
                problems.push(format!(
                    "{method} {path}: {probe} answers {status}, undocumented"
                ));
            }
            if (status.starts_with('2') || status == "404") && !own.contains_key(&status) {
                problems.push(format!(
                    "{method} {path}: {probe} answers {status}, which only the shared part documents"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A handler declares its security exactly when the server asks for a credential, and those that
/// ask none are the ones that start sessions and the links from e-mails.
#[tokio::test]
async fn handlers_declare_security_exactly_where_the_server_asks_for_a_credential() {
    let declared = declared();
    let schemes = declared["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    assert!(schemes.contains_key("bearer") && schemes.contains_key("api_token"));
    let mut public = Vec::new();
    let mut problems = Vec::new();
    for (method, path, answers) in probe_every_operation().await {
        let security = declared["paths"][&path][&method]["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for s in &security {
            for name in s.as_object().unwrap().keys() {
                if !schemes.contains_key(name) {
                    problems.push(format!("{method} {path}: unknown scheme {name}"));
                }
            }
        }
        match (security.is_empty(), answers.anonymous == 401) {
            (false, true) => {}
            (true, false) => public.push(format!("{method} {path}")),
            (false, false) => problems.push(format!(
                "{method} {path} declares security, but answers {} without a credential",
                answers.anonymous
            )),
            (true, true) => problems.push(format!(
                "{method} {path} asks for a credential but declares no security"
            )),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    public.sort();
    assert_eq!(
        public,
        [
            "get /api/v1/calendar/{feed_token}.ics",
            "get /api/v1/event-registrations/cancel/{token}",
            "get /api/v1/events",
            "get /api/v1/events/{id}",
            "get /api/v1/invitations/{token}",
            "get /api/v1/meeting-answers/{token}",
            "get /api/v1/poll-answers/{token}",
            "post /api/v1/auth/login",
            "post /api/v1/auth/logout",
            "post /api/v1/auth/password-reset",
            "post /api/v1/auth/password-reset/confirm",
            "post /api/v1/auth/refresh",
            "post /api/v1/event-registrations/cancel",
            "post /api/v1/events/{id}/registrations",
            "post /api/v1/invitations/{token}/accept",
            "post /api/v1/meeting-answers",
            "put /api/v1/poll-answers/{token}",
        ]
    );
}

/// A handler declares a request body exactly when it reads one (and then the shared errors of
/// bodies are real); writes document `If-Match` exactly when they require it; every successful
/// `GET` answers `If-None-Match`.
#[tokio::test]
async fn declared_bodies_preconditions_and_conditional_reads_match_the_server() {
    let spec = spec();
    let mut problems = Vec::new();
    let mut with_body = 0;
    for (method, path, a) in probe_every_operation().await {
        let op = &spec["paths"][&path][&method];
        let id = format!("{method} {path}");
        if op.get("requestBody").is_some() {
            with_body += 1;
            if op["requestBody"]["required"] != true {
                problems.push(format!("{id}: the body is not marked required"));
            }
            let expected = [
                ("unknown field", Some(a.admin), 422),
                ("text/plain", Some(a.plain_text), 415),
                ("malformed JSON", a.malformed, 400),
                ("over 64 KiB", a.too_large, 413),
            ];
            for (probe, got, want) in expected {
                if got != Some(want) {
                    problems.push(format!("{id}: {probe} answers {got:?}, not {want}"));
                }
            }
        } else if a.plain_text == 415 {
            problems.push(format!("{id} reads a JSON body it does not declare"));
        }
        if let Some(status) = a.no_if_match {
            let documented = op["parameters"]
                .to_string()
                .contains("#/components/parameters/IfMatch");
            if documented != (status == 428) {
                problems.push(format!(
                    "{id}: documents If-Match: {documented}, answers {status} without it"
                ));
            }
        }
        if let Some(status) = a.if_none_match
            && a.admin == 200
            && status != 304
        {
            problems.push(format!("{id}: If-None-Match: * answers {status}, not 304"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(with_body >= 15, "{with_body}");
}

#[test]
fn the_description_lists_every_problem_type() {
    let spec = spec();
    let description = spec["info"]["description"].as_str().unwrap();
    for kind in connect::error::ProblemType::ALL {
        let (slug, status) = (kind.slug(), kind.status().as_u16());
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
