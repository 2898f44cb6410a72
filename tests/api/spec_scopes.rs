//! The scopes in the spec are the scopes the handlers check. Each operation's security requirement
//! names its scope from the `Scope` enum; these tests call every operation with API tokens of
//! every scope and compare what the handler does with what the spec declares.

use std::collections::BTreeSet;

use connect::auth::Scope;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;
use crate::spec_examples::{committed_spec, operations, sample_body};

/// What an operation's security requirement says about API tokens: `None` when they are not
/// accepted (sessions only), else the scopes it needs (none: any token).
fn token_scopes(op: &Value) -> Option<Vec<String>> {
    op["security"]
        .as_array()?
        .iter()
        .find_map(|requirement| requirement.get("api_token"))
        .map(|scopes| {
            scopes
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        })
}

fn secured(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| !s.is_empty())
}

#[test]
fn the_spec_names_only_scopes_that_exist_and_describes_every_one() {
    let spec = committed_spec();
    let known: BTreeSet<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let mut declared = 0;
    for (method, path, op) in operations(&spec) {
        for scope in token_scopes(&op).unwrap_or_default() {
            assert!(known.contains(scope.as_str()), "{method} {path}: {scope}");
            declared += 1;
        }
    }
    assert!(declared > 20, "operations declare their scopes: {declared}");
    let description = spec["components"]["securitySchemes"]["api_token"]["description"]
        .as_str()
        .unwrap();
    for scope in Scope::ALL {
        assert!(
            description.contains(&format!("`{scope}`: {}", scope.description())),
            "{scope} is not described: {description}"
        );
    }
    let listed: Vec<&str> = spec["components"]["schemas"]["Scope"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(listed, all);
}

#[tokio::test]
async fn every_operation_checks_exactly_the_scope_its_security_requirement_declares() {
    let spec = committed_spec();
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // One token per scope, each with that scope only (an admin may hold every scope).
    let mut tokens = Vec::new();
    for scope in Scope::ALL {
        let (_, secret) = app.create_api_token(&admin, &[scope.as_str()]).await;
        tokens.push((scope.as_str(), secret));
    }

    let mut checked = 0;
    let mut wrong = Vec::new();
    for (method, path, op) in operations(&spec) {
        if !path.starts_with("/api/") || !secured(&op) {
            continue;
        }
        let declared = token_scopes(&op);
        // Path parameters get an id that exists nowhere: the scope is checked before the lookup.
        let url = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    seg.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let body = sample_body(&spec, &op);
        let versioned = method == "patch" || method == "delete";
        for (scope, token) in &tokens {
            let res = app
                .send_json(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &url,
                    token,
                    versioned.then_some("\"1\""),
                    body.as_ref(),
                )
                .await;
            let status = res.status().as_u16();
            let problem: Value = res.json().await.unwrap_or(Value::Null);
            let slug = problem["type"].as_str().unwrap_or_default().to_owned();
            let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
            let insufficient = status == 403 && slug == "/problems/insufficient-scope";
            let at = format!("{} {path} with a {scope} token", method.to_uppercase());
            let needed = declared.clone().unwrap_or_default();
            let names_needed = needed.iter().any(|n| detail.contains(&format!("'{n}'")));
            // None: sessions only; Some(true): this token may call it; Some(false): it may not.
            let allowed = declared
                .as_ref()
                .map(|n| n.is_empty() || n.iter().any(|n| n == scope));
            match allowed {
                None if !(status == 403 && slug == "/problems/forbidden") => wrong.push(format!(
                    "{at}: the spec accepts sessions only, but the answer is {status} {slug}"
                )),
                Some(true) if insufficient => wrong.push(format!(
                    "{at}: the spec needs {needed:?}, but the handler wants another scope: {detail}"
                )),
                Some(false) if !insufficient => wrong.push(format!(
                    "{at}: the spec needs {needed:?}, but the answer is {status} {slug}"
                )),
                Some(false) if !names_needed => wrong.push(format!(
                    "{at}: the spec needs {needed:?}, but the handler asks for: {detail}"
                )),
                _ => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "every operation was tried: {checked} calls");
    assert!(wrong.is_empty(), "{wrong:#?}");
}
