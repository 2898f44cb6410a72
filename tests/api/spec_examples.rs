//! The spec tells the truth about values: every example in `openapi/openapi.json` validates
//! against its schema, and every enum value the spec lists for a request field or parameter is one
//! the server accepts where it is used. (Once the spec listed the Rust variant names, `Pharma`,
//! `SouthEast`, while the server accepted only `pharma`, `south_east`.)

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::*;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const SCHEMAS: &str = "#/components/schemas/";

/// The committed document: what clients are generated from.
pub fn committed_spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// Follows `$ref`s to `#/components/schemas/…`.
pub fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix(SCHEMAS))
    {
        schema = &spec["components"]["schemas"][name];
        assert!(schema.is_object(), "dangling $ref to {name}");
    }
    schema
}

/// Every operation: (method, path, operation).
pub fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in entries(&spec["paths"]) {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// The JSON schema of an operation's request body, if it has one.
pub fn request_schema<'a>(spec: &'a Value, op: &'a Value) -> Option<&'a Value> {
    op["requestBody"]["content"]
        .get("application/json")
        .map(|m| resolve(spec, &m["schema"]))
}

/// A request body for an operation: its schema's example, else a minimal value built from the
/// schema (required fields only).
pub fn sample_body(spec: &Value, op: &Value) -> Option<Value> {
    let schema = request_schema(spec, op)?;
    Some(
        schema
            .get("example")
            .cloned()
            .unwrap_or_else(|| sample(spec, schema)),
    )
}

fn sample(spec: &Value, schema: &Value) -> Value {
    let schema = resolve(spec, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let chosen = alternatives.iter().find(|s| s["type"] != "null");
        return chosen.map_or(Value::Null, |s| sample(spec, s));
    }
    let ty = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned(),
        other => Some(other.clone()),
    };
    match ty.as_ref().and_then(Value::as_str) {
        Some("object") => {
            let mut object = Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                object.insert(name.into(), sample(spec, &schema["properties"][name]));
            }
            Value::Object(object)
        }
        Some("array") => json!([]),
        Some("integer" | "number") => json!(1),
        Some("boolean") => json!(false),
        Some("string") => match schema["format"].as_str() {
            Some("date") => json!("2024-01-01"),
            Some("date-time") => json!("2024-01-01T00:00:00Z"),
            Some("uuid") => json!(uuid::Uuid::now_v7().to_string()),
            _ => json!("a sample value"),
        },
        _ => Value::Null,
    }
}

// Examples.

/// One example and the schema it has to validate against.
#[derive(Debug)]
struct Example {
    at: String,
    schema: Value,
    value: Value,
}

/// Every `example` and `examples` in the document: in schemas (validated against the schema
/// itself), and in parameters, headers, request bodies and responses (against their `schema`).
fn examples(spec: &Value) -> Vec<Example> {
    let mut out = Vec::new();
    let components = &spec["components"];
    for (name, schema) in entries(&components["schemas"]) {
        in_schema(schema, &format!("{SCHEMAS}{name}"), &mut out);
    }
    for (name, p) in entries(&components["parameters"]) {
        in_carrier(
            spec,
            p,
            &format!("#/components/parameters/{name}"),
            &mut out,
        );
    }
    for (name, h) in entries(&components["headers"]) {
        in_carrier(spec, h, &format!("#/components/headers/{name}"), &mut out);
    }
    for (name, b) in entries(&components["requestBodies"]) {
        in_content(
            spec,
            b,
            &format!("#/components/requestBodies/{name}"),
            &mut out,
        );
    }
    for (name, r) in entries(&components["responses"]) {
        in_response(spec, r, &format!("#/components/responses/{name}"), &mut out);
    }
    for (path, item) in entries(&spec["paths"]) {
        for p in item["parameters"].as_array().into_iter().flatten() {
            in_carrier(
                spec,
                p,
                &format!("{path} parameter {}", p["name"]),
                &mut out,
            );
        }
        for (method, _, op) in operations(spec).into_iter().filter(|(_, p, _)| p == path) {
            let at = format!("{} {path}", method.to_uppercase());
            for p in op["parameters"].as_array().into_iter().flatten() {
                in_carrier(spec, p, &format!("{at} parameter {}", p["name"]), &mut out);
            }
            in_content(spec, &op["requestBody"], &format!("{at} request"), &mut out);
            for (status, r) in entries(&op["responses"]) {
                in_response(spec, r, &format!("{at} response {status}"), &mut out);
            }
        }
    }
    out
}

/// A schema's own `example` and `examples`, then those of its subschemas.
fn in_schema(schema: &Value, at: &str, out: &mut Vec<Example>) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(value) = object.get("example") {
        out.push(Example {
            at: format!("{at} example"),
            schema: schema.clone(),
            value: value.clone(),
        });
    }
    for (i, value) in object
        .get("examples")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        out.push(Example {
            at: format!("{at} examples[{i}]"),
            schema: schema.clone(),
            value: value.clone(),
        });
    }
    for (keyword, sub) in object {
        match keyword.as_str() {
            "properties" | "patternProperties" | "$defs" | "dependentSchemas" => {
                for (name, s) in entries(sub) {
                    in_schema(s, &format!("{at}/{keyword}/{name}"), out);
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "propertyNames"
            | "unevaluatedItems"
            | "unevaluatedProperties" => {
                in_schema(sub, &format!("{at}/{keyword}"), out);
            }
            "oneOf" | "anyOf" | "allOf" | "prefixItems" => {
                for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                    in_schema(s, &format!("{at}/{keyword}/{i}"), out);
                }
            }
            _ => {}
        }
    }
}

/// A parameter, header or media type: `example` and `examples` (Example objects) against its
/// `schema`.
fn in_carrier(spec: &Value, carrier: &Value, at: &str, out: &mut Vec<Example>) {
    if carrier.get("$ref").is_some() {
        return; // a component, checked where it is defined
    }
    let Some(schema) = carrier.get("schema") else {
        in_content(spec, carrier, at, out);
        return;
    };
    in_schema(schema, &format!("{at} schema"), out);
    if let Some(value) = carrier.get("example") {
        out.push(Example {
            at: format!("{at} example"),
            schema: schema.clone(),
            value: value.clone(),
        });
    }
    for (name, example) in entries(&carrier["examples"]) {
        let example = match example["$ref"].as_str() {
            Some(r) => {
                let name = r.strip_prefix("#/components/examples/").unwrap();
                &spec["components"]["examples"][name]
            }
            None => example,
        };
        if let Some(value) = example.get("value") {
            out.push(Example {
                at: format!("{at} examples.{name}"),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
    }
}

/// The media types of a request body or response.
fn in_content(spec: &Value, holder: &Value, at: &str, out: &mut Vec<Example>) {
    if holder.get("$ref").is_some() {
        return;
    }
    for (media, m) in entries(&holder["content"]) {
        in_carrier(spec, m, &format!("{at} {media}"), out);
    }
}

fn in_response(spec: &Value, response: &Value, at: &str, out: &mut Vec<Example>) {
    if response.get("$ref").is_some() {
        return;
    }
    in_content(spec, response, at, out);
    for (name, h) in entries(&response["headers"]) {
        in_carrier(spec, h, &format!("{at} header {name}"), out);
    }
}

/// `#/components/schemas/X` becomes `#/$defs/X`, so a schema can be checked on its own with the
/// document's schemas beside it.
fn rebase_refs(v: &mut Value) {
    match v {
        Value::Object(object) => {
            for (key, value) in object.iter_mut() {
                match value {
                    Value::String(r) if key == "$ref" => {
                        if let Some(name) = r.strip_prefix(SCHEMAS) {
                            *r = format!("#/$defs/{name}");
                        }
                    }
                    _ => rebase_refs(value),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rebase_refs),
        _ => {}
    }
}

/// The problems with each example, as "where: what" lines.
fn example_failures(spec: &Value, examples: &[Example]) -> Vec<String> {
    let mut defs = spec["components"]["schemas"].clone();
    rebase_refs(&mut defs);
    let mut failures = Vec::new();
    for e in examples {
        let mut schema = e.schema.clone();
        rebase_refs(&mut schema);
        let mut root = match schema {
            Value::Object(object) => object,
            other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
        };
        assert!(!root.contains_key("$defs"), "{}", e.at);
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("$defs".into(), defs.clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|err| panic!("{}: the schema does not compile: {err}", e.at));
        for err in validator.iter_errors(&e.value) {
            failures.push(format!("{} (at '{}'): {err}", e.at, err.instance_path()));
        }
    }
    failures
}

#[test]
fn every_example_in_the_spec_validates_against_its_schema() {
    let spec = committed_spec();
    let examples = examples(&spec);
    assert!(
        examples.len() >= 25,
        "the spec has its examples: {}",
        examples.len()
    );
    let failures = example_failures(&spec, &examples);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_example_check_catches_a_value_the_schema_refuses() {
    let mut spec = committed_spec();
    let example = &mut spec["components"]["schemas"]["Organisation"]["example"];
    assert!(example.is_object());
    example["kind"] = json!("Pharma");
    example["health_region"] = json!("SouthEast");
    let failures = example_failures(&spec, &examples(&spec));
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures
            .iter()
            .all(|f| f.starts_with("#/components/schemas/Organisation example")),
        "{failures:#?}"
    );
}

#[test]
fn the_spec_lists_the_wire_values_of_every_text_enum() {
    use connect::auth::policy::Standing;
    use connect::auth::{Role, Scope};
    use connect::invitations::model::InvitationStatus;
    use connect::notifications::model::{Kind, Language, State};
    use connect::organisations::model::{HealthRegion, MembershipStatus, OrganisationKind, Sector};

    fn texts<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> Value {
        all.iter().map(|v| json!(as_str(*v))).collect()
    }
    let spec = committed_spec();
    let schemas = &spec["components"]["schemas"];
    for (name, values) in [
        (
            "OrganisationKind",
            texts(OrganisationKind::ALL, OrganisationKind::as_str),
        ),
        ("Sector", texts(Sector::ALL, Sector::as_str)),
        (
            "HealthRegion",
            texts(HealthRegion::ALL, HealthRegion::as_str),
        ),
        (
            "MembershipStatus",
            texts(MembershipStatus::ALL, MembershipStatus::as_str),
        ),
        ("Role", texts(Role::ALL, Role::as_str)),
        ("Standing", texts(Standing::ALL, Standing::as_str)),
        ("Scope", texts(Scope::ALL, Scope::as_str)),
        ("Language", texts(Language::ALL, Language::as_str)),
        ("Kind", texts(Kind::ALL, Kind::as_str)),
        ("State", texts(State::ALL, State::as_str)),
        (
            "InvitationStatus",
            texts(InvitationStatus::ALL, InvitationStatus::as_str),
        ),
    ] {
        assert_eq!(schemas[name]["enum"], values, "{name}");
    }
}

// Enum values.

/// Every enum-valued request input of the API: `"METHOD path body.field"` or
/// `"METHOD path query.name"`, with the values the spec lists for it.
fn enum_inputs(spec: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (method, path, op) in operations(spec) {
        let at = format!("{} {path}", method.to_uppercase());
        for p in op["parameters"].as_array().into_iter().flatten() {
            if let Some(values) = enum_values(spec, &p["schema"]) {
                let key = format!(
                    "{at} {}.{}",
                    p["in"].as_str().unwrap(),
                    p["name"].as_str().unwrap()
                );
                out.insert(key, values);
            }
        }
        if let Some(schema) = request_schema(spec, &op) {
            for (field, s) in entries(&schema["properties"]) {
                if let Some(values) = enum_values(spec, s) {
                    out.insert(format!("{at} body.{field}"), values);
                }
            }
        }
    }
    out
}

/// The values of an enum schema, also through `$ref`, a nullable `oneOf` and array items.
fn enum_values(spec: &Value, schema: &Value) -> Option<Vec<String>> {
    let schema = resolve(spec, schema);
    if let Some(values) = schema["enum"].as_array() {
        return Some(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        );
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for s in schema[keyword].as_array().into_iter().flatten() {
            if let Some(values) = enum_values(spec, s) {
                return Some(values);
            }
        }
    }
    schema.get("items").and_then(|s| enum_values(spec, s))
}

/// The enum inputs still to be tried; each is taken once, and all must have been taken at the end.
struct Inputs(BTreeMap<String, Vec<String>>);

impl Inputs {
    fn take(&mut self, key: &str) -> Vec<String> {
        let values = self
            .0
            .remove(key)
            .unwrap_or_else(|| panic!("the spec lists no enum input {key} (any more)"));
        assert!(!values.is_empty(), "{key}");
        values
    }
}

/// Asserts a 2xx answer; returns its body.
async fn accepted(res: reqwest::Response, what: &str) -> Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// The `If-Match` value for a record as last read.
fn version_tag(record: &Value) -> String {
    format!("\"{}\"", record["version"])
}

#[tokio::test]
async fn every_enum_value_the_spec_lists_for_an_input_is_accepted_where_it_is_used() {
    let spec = committed_spec();
    let mut inputs = Inputs(enum_inputs(&spec));
    let app = spawn_app().await;
    let admin = app.admin_token().await;

    // Organisations: created with each kind, sector and health region.
    let orgs = "/api/v1/organisations";
    for kind in inputs.take("POST /api/v1/organisations body.kind") {
        let mut body = json!({"name": format!("Kind {kind}"), "kind": kind, "sector": "private"});
        if kind == "hospital" {
            body["health_region"] = json!("west");
        }
        let org = accepted(app.post(orgs, &admin, &body).await, &kind).await;
        assert_eq!(org["kind"], kind);
    }
    for sector in inputs.take("POST /api/v1/organisations body.sector") {
        let body = json!({"name": format!("Sector {sector}"), "kind": "other", "sector": sector});
        let org = accepted(app.post(orgs, &admin, &body).await, &sector).await;
        assert_eq!(org["sector"], sector);
    }
    for region in inputs.take("POST /api/v1/organisations body.health_region") {
        let body = json!({"name": format!("Region {region}"), "kind": "hospital",
            "sector": "public", "health_region": region});
        let org = accepted(app.post(orgs, &admin, &body).await, &region).await;
        assert_eq!(org["health_region"], region);
    }

    // … filtered by them (each finds what was created above) …
    for (key, field) in [
        ("GET /api/v1/organisations query.kind", "kind"),
        (
            "GET /api/v1/organisations query.health_region",
            "health_region",
        ),
    ] {
        for value in inputs.take(key) {
            let items = app
                .list_items(&format!("{orgs}?{field}={value}&limit=200"), &admin)
                .await;
            assert!(!items.is_empty(), "{key}={value}");
            assert!(items.iter().all(|o| o[field] == value), "{key}={value}");
        }
    }

    // … edited to each of them …
    let mut org = app.create_org(&admin, "Edited", "other").await;
    let org_id = id_of(&org);
    let org_path = format!("{orgs}/{org_id}");
    for (key, field) in [
        ("PATCH /api/v1/organisations/{id} body.kind", "kind"),
        ("PATCH /api/v1/organisations/{id} body.sector", "sector"),
        (
            "PATCH /api/v1/organisations/{id} body.health_region",
            "health_region",
        ),
    ] {
        for value in inputs.take(key) {
            let mut body = json!({ field: value });
            if field == "health_region" {
                body["kind"] = json!("hospital");
            } else if field == "kind" && value != "hospital" {
                body["health_region"] = Value::Null;
            }
            let res = app
                .patch(&org_path, &admin, Some(&version_tag(&org)), &body)
                .await;
            org = accepted(res, &format!("{key}={value}")).await;
            assert_eq!(org[field], value);
        }
    }

    // … and moved through every membership status, by the allowed transitions.
    let listed = inputs.take("POST /api/v1/organisations/{id}/membership-changes body.to_status");
    let mut unreached = listed.clone();
    let path = [
        "applicant",
        "partner",
        "observer",
        "suspended",
        "withdrawn",
        "applicant",
        "none",
    ];
    for (day, to) in (1..).zip(path) {
        assert!(listed.iter().any(|s| s == to), "{to} is not listed");
        app.change_status(&admin, &org_id, to, &format!("2024-01-{day:02}"))
            .await;
        unreached.retain(|s| s != to);
    }
    assert!(
        unreached.is_empty(),
        "statuses never reached: {unreached:?}"
    );
    // The membership filter is a comma-separated string; it takes every status too.
    let all: Vec<String> = spec["components"]["schemas"]["MembershipStatus"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    app.list_items(
        &format!("{orgs}?membership_status={}", all.join(",")),
        &admin,
    )
    .await;

    // Drugs: registered with each status, listed by it, edited to each.
    let maker = id_of(&app.create_org(&admin, "Drugmaker", "pharma").await);
    for status in inputs.take("POST /api/v1/drugs body.status") {
        let body = json!({"organisation_id": maker, "generic_name": format!("{status}inib"),
            "status": status, "available_from": "2026-01-01"});
        let drug = accepted(app.post("/api/v1/drugs", &admin, &body).await, &status).await;
        assert_eq!(drug["status"], status);
    }
    for status in inputs.take("GET /api/v1/drugs query.status") {
        let items = app
            .list_items(&format!("/api/v1/drugs?status={status}"), &admin)
            .await;
        assert!(!items.is_empty(), "status={status}");
        assert!(
            items.iter().all(|d| d["status"] == status),
            "status={status}"
        );
    }
    let body = json!({"organisation_id": maker, "generic_name": "editinib"});
    let mut drug = accepted(app.post("/api/v1/drugs", &admin, &body).await, "drug").await;
    let drug_path = format!("/api/v1/drugs/{}", id_of(&drug));
    for status in inputs.take("PATCH /api/v1/drugs/{id} body.status") {
        let body = json!({"status": status, "available_from": "2026-01-01"});
        let res = app
            .patch(&drug_path, &admin, Some(&version_tag(&drug)), &body)
            .await;
        drug = accepted(res, &format!("drug status {status}")).await;
        assert_eq!(drug["status"], status);
    }

    // Users: created with each role and language, edited to each, listed by role.
    let rep_org = id_of(&app.create_org(&admin, "Represented", "pharma").await);
    let org_for = |role: &str| (role != "admin").then(|| rep_org.clone());
    for (n, role) in inputs
        .take("POST /api/v1/users body.role")
        .into_iter()
        .enumerate()
    {
        let body = json!({"email": format!("role{n}@connect.test"), "display_name": role,
            "role": role, "organisation_id": org_for(&role), "password": USER_PASSWORD});
        let user = accepted(app.post("/api/v1/users", &admin, &body).await, &role).await;
        assert_eq!(user["role"], role);
    }
    for (n, language) in inputs
        .take("POST /api/v1/users body.language")
        .into_iter()
        .enumerate()
    {
        let body = json!({"email": format!("language{n}@connect.test"), "display_name": language,
            "role": "admin", "password": USER_PASSWORD, "language": language});
        let user = accepted(app.post("/api/v1/users", &admin, &body).await, &language).await;
        assert_eq!(user["language"], language);
    }
    for role in inputs.take("GET /api/v1/users query.role") {
        let items = app
            .list_items(&format!("/api/v1/users?role={role}"), &admin)
            .await;
        assert!(!items.is_empty(), "role={role}");
        assert!(items.iter().all(|u| u["role"] == role), "role={role}");
    }
    let mut user = app
        .create_user(
            &admin,
            "edited@connect.test",
            "partner_representative",
            Some(&rep_org),
        )
        .await;
    let user_path = format!("/api/v1/users/{}", id_of(&user));
    for role in inputs.take("PATCH /api/v1/users/{id} body.role") {
        let body = json!({"role": role, "organisation_id": org_for(&role)});
        let res = app
            .patch(&user_path, &admin, Some(&version_tag(&user)), &body)
            .await;
        user = accepted(res, &role).await;
        assert_eq!(user["role"], role);
    }
    for language in inputs.take("PATCH /api/v1/users/{id} body.language") {
        let body = json!({ "language": language });
        let res = app
            .patch(&user_path, &admin, Some(&version_tag(&user)), &body)
            .await;
        user = accepted(res, &language).await;
        assert_eq!(user["language"], language);
    }

    // Invitations: to each role, in each language; listed by each status.
    for (n, role) in inputs
        .take("POST /api/v1/invitations body.role")
        .into_iter()
        .enumerate()
    {
        let body = json!({"email": format!("invited-role{n}@connect.test"), "role": role,
            "organisation_id": org_for(&role)});
        let inv = accepted(app.post("/api/v1/invitations", &admin, &body).await, &role).await;
        assert_eq!(inv["role"], role);
    }
    for (n, language) in inputs
        .take("POST /api/v1/invitations body.language")
        .into_iter()
        .enumerate()
    {
        let body = json!({"email": format!("invited-language{n}@connect.test"), "role": "admin",
            "language": language});
        let res = app.post("/api/v1/invitations", &admin, &body).await;
        let inv = accepted(res, &language).await;
        assert_eq!(inv["language"], language);
    }
    for status in inputs.take("GET /api/v1/invitations query.status") {
        app.list_items(&format!("/api/v1/invitations?status={status}"), &admin)
            .await;
    }

    // Allocations: a patient evaluated with each outcome; listed by each outcome and status.
    let company = id_of(&app.create_org(&admin, "Allocating", "pharma").await);
    let post = |path: String, body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let res = app.post(&path, admin, &body).await;
            accepted(res, &path).await
        }
    };
    let drug = json!({"organisation_id": company, "generic_name": "allocatinib",
        "status": "available", "available_from": "2020-01-01"});
    let drug = id_of(&post("/api/v1/drugs".into(), drug).await);
    let agreement = json!({"organisation_id": company, "reference": "ALLOC-1", "title": "Supply",
        "effective_from": "2020-01-01", "patient_cap": 50});
    let agreement = id_of(&post("/api/v1/agreements".into(), agreement).await);
    let base = format!("/api/v1/agreements/{agreement}");
    post(format!("{base}/drugs"), json!({"drug_id": drug})).await;
    post(format!("{base}/submit"), json!({})).await;
    post(format!("{base}/activate"), json!({})).await;
    let cohort = json!({"agreement_id": agreement, "drug_id": drug, "tumour_type": "melanoma",
        "alteration": "BRAF V600E", "stage1_size": 12});
    let cohort = id_of(&post("/api/v1/cohorts".into(), cohort).await);
    let site = json!({"name": "Allocating site", "kind": "hospital", "sector": "public",
        "health_region": "west", "trial_site": true});
    let site = id_of(&post("/api/v1/organisations".into(), site).await);
    let started = (chrono::Utc::now().date_naive() - chrono::Days::new(120)).to_string();
    let outcomes = inputs.take("POST /api/v1/allocations/{id}/evaluation body.outcome");
    let mut allocations = Vec::new();
    for n in 0..outcomes.len() {
        let body = json!({"trial_code": format!("ENUM-{n}"), "drug_id": drug, "site_id": site,
            "cohort_id": cohort, "started_on": started});
        allocations.push(id_of(&post(format!("{base}/allocations"), body).await));
    }
    let on = chrono::Utc::now().date_naive().to_string();
    for (outcome, id) in outcomes.iter().zip(&allocations) {
        let body = json!({"outcome": outcome, "evaluated_on": on});
        let a = post(format!("/api/v1/allocations/{id}/evaluation"), body).await;
        assert_eq!(a["outcome"], *outcome);
    }
    for (key, path, name) in [
        (
            "GET /api/v1/allocations query.outcome",
            "/api/v1/allocations".to_owned(),
            "outcome",
        ),
        (
            "GET /api/v1/allocations query.status",
            "/api/v1/allocations".to_owned(),
            "status",
        ),
        (
            "GET /api/v1/agreements/{id}/allocations query.outcome",
            format!("{base}/allocations"),
            "outcome",
        ),
        (
            "GET /api/v1/agreements/{id}/allocations query.status",
            format!("{base}/allocations"),
            "status",
        ),
    ] {
        for value in inputs.take(key) {
            let items = app
                .list_items(&format!("{path}?{name}={value}&limit=200"), &admin)
                .await;
            assert!(items.iter().all(|a| a[name] == value), "{key}={value}");
        }
    }

    // Notifications: listed by each state and kind.
    for (key, name) in [
        ("GET /api/v1/notifications query.state", "state"),
        ("GET /api/v1/notifications query.kind", "kind"),
    ] {
        for value in inputs.take(key) {
            let items = app
                .list_items(&format!("/api/v1/notifications?{name}={value}"), &admin)
                .await;
            assert!(items.iter().all(|n| n[name] == value), "{key}={value}");
        }
    }

    // Agreements and cohorts: listed by each status and stage.
    for (key, list, name) in [
        (
            "GET /api/v1/agreements query.status",
            "agreements",
            "status",
        ),
        ("GET /api/v1/cohorts query.stage", "cohorts", "stage"),
        ("GET /api/v1/cohorts query.status", "cohorts", "status"),
    ] {
        for value in inputs.take(key) {
            let items = app
                .list_items(&format!("/api/v1/{list}?{name}={value}"), &admin)
                .await;
            assert!(items.iter().all(|n| n[name] == value), "{key}={value}");
        }
    }

    // Bodies: created with each kind, status and majority, listed by them, edited to each; seats
    // with each role, listed by it, changed to each.
    for (n, kind) in inputs
        .take("POST /api/v1/bodies body.kind")
        .into_iter()
        .enumerate()
    {
        let body = json!({"kind": kind, "name": format!("Kind body {n}")});
        let b = accepted(app.post("/api/v1/bodies", &admin, &body).await, &kind).await;
        assert_eq!(b["kind"], kind);
    }
    for status in inputs.take("POST /api/v1/bodies body.status") {
        let body = json!({"kind": "other", "name": format!("Status body {status}"),
            "status": status});
        let b = accepted(app.post("/api/v1/bodies", &admin, &body).await, &status).await;
        assert_eq!(b["status"], status);
    }
    for majority in inputs.take("POST /api/v1/bodies body.majority") {
        let body = json!({"kind": "other", "name": format!("Majority body {majority}"),
            "majority": majority});
        let b = accepted(app.post("/api/v1/bodies", &admin, &body).await, &majority).await;
        assert_eq!(b["majority"], majority);
    }
    for (key, name) in [
        ("GET /api/v1/bodies query.kind", "kind"),
        ("GET /api/v1/bodies query.status", "status"),
    ] {
        for value in inputs.take(key) {
            let items = app
                .list_items(&format!("/api/v1/bodies?{name}={value}&limit=200"), &admin)
                .await;
            assert!(!items.is_empty(), "{key}={value}");
            assert!(items.iter().all(|b| b[name] == value), "{key}={value}");
        }
    }
    let mut body = accepted(
        app.post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "working_group", "name": "Edited body"}),
        )
        .await,
        "body",
    )
    .await;
    let body_path = format!("/api/v1/bodies/{}", id_of(&body));
    for (key, field) in [
        ("PATCH /api/v1/bodies/{id} body.kind", "kind"),
        ("PATCH /api/v1/bodies/{id} body.majority", "majority"),
        ("PATCH /api/v1/bodies/{id} body.status", "status"),
    ] {
        for value in inputs.take(key) {
            let res = app
                .patch(
                    &body_path,
                    &admin,
                    Some(&version_tag(&body)),
                    &json!({ field: value }),
                )
                .await;
            body = accepted(res, &format!("{key}={value}")).await;
            assert_eq!(body[field], value);
        }
    }
    let seated = accepted(
        app.post(
            "/api/v1/bodies",
            &admin,
            &json!({"kind": "working_group", "name": "Seated body"}),
        )
        .await,
        "body",
    )
    .await;
    let members = format!("/api/v1/bodies/{}/members", id_of(&seated));
    let mut seat = Value::Null;
    for (n, role) in inputs
        .take("POST /api/v1/bodies/{id}/members body.role")
        .into_iter()
        .enumerate()
    {
        let person = app
            .create_contact(
                &admin,
                Some(&rep_org),
                "Seated",
                &format!("seated{n}@connect.test"),
            )
            .await;
        let body = json!({"person_id": id_of(&person), "role": role});
        seat = accepted(app.post(&members, &admin, &body).await, &role).await;
        assert_eq!(seat["role"], role);
    }
    for role in inputs.take("GET /api/v1/bodies/{id}/members query.role") {
        let items = app
            .list_items(&format!("{members}?role={role}"), &admin)
            .await;
        assert_eq!(items.len(), 1, "role={role}");
        assert!(items.iter().all(|s| s["role"] == role), "role={role}");
    }
    let seat_path = format!("{members}/{}", id_of(&seat));
    for role in inputs.take("PATCH /api/v1/bodies/{id}/members/{member_id} body.role") {
        let res = app
            .patch(
                &seat_path,
                &admin,
                Some(&version_tag(&seat)),
                &json!({ "role": role }),
            )
            .await;
        seat = accepted(res, &role).await;
        assert_eq!(seat["role"], role);
    }

    // Decisions of each kind, listed by kind and status; votes of each choice.
    let board = id_of(&seated);
    let mut decision = Value::Null;
    for kind in inputs.take("POST /api/v1/decisions body.kind") {
        let body = json!({"body_id": board, "title": format!("Decision {kind}"), "text": "x", "kind": kind});
        decision = accepted(app.post("/api/v1/decisions", &admin, &body).await, &kind).await;
        assert_eq!(decision["kind"], kind);
    }
    for kind in inputs.take("GET /api/v1/decisions query.kind") {
        let items = app
            .list_items(&format!("/api/v1/decisions?kind={kind}"), &admin)
            .await;
        assert_eq!(items.len(), 1, "kind={kind}");
    }
    for status in inputs.take("GET /api/v1/decisions query.status") {
        let res = app
            .get(&format!("/api/v1/decisions?status={status}"), &admin)
            .await;
        accepted(res, &status).await;
    }
    let decision_path = format!("/api/v1/decisions/{}", id_of(&decision));
    for kind in inputs.take("PATCH /api/v1/decisions/{id} body.kind") {
        let res = app
            .patch(
                &decision_path,
                &admin,
                Some(&version_tag(&decision)),
                &json!({ "kind": kind }),
            )
            .await;
        decision = accepted(res, &kind).await;
        assert_eq!(decision["kind"], kind);
    }
    // The admin's account voting needs a person with a seat.
    let voter = app
        .create_contact(&admin, None, "Voter", "voter@connect.test")
        .await;
    accepted(
        app.post(
            &members,
            &admin,
            &json!({"person_id": id_of(&voter), "role": "member"}),
        )
        .await,
        "voter",
    )
    .await;
    let admin_id = app.me(&admin).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_path = format!("/api/v1/users/{admin_id}");
    let res = app
        .patch(
            &user_path,
            &admin,
            Some(&app.current_etag(&user_path, &admin).await),
            &json!({"person_id": id_of(&voter)}),
        )
        .await;
    accepted(res, "link").await;
    accepted(
        app.post(
            &format!("{decision_path}/open"),
            &admin,
            &json!({"deadline": "2099-01-01T00:00:00Z"}),
        )
        .await,
        "open",
    )
    .await;
    for choice in inputs.take("PUT /api/v1/decisions/{id}/vote body.choice") {
        let res = app
            .send_json(
                Method::PUT,
                &format!("{decision_path}/vote"),
                &admin,
                None,
                Some(&json!({ "choice": choice })),
            )
            .await;
        let voted = accepted(res, &choice).await;
        assert_eq!(voted["my_vote"], choice);
    }

    // Meetings of each kind and language, listed by kind and status; patched to each status and
    // language; each answer (the admin sits in the board, so is invited).
    let mut meeting = Value::Null;
    for kind in inputs.take("POST /api/v1/meetings body.kind") {
        let mut body = json!({"kind": kind, "title": format!("Meeting {kind}"),
                              "start": "2030-01-07T10:00:00", "end": "2030-01-07T11:00:00"});
        if kind == "body_meeting" {
            body["body_id"] = json!(board);
        }
        let created = accepted(app.post("/api/v1/meetings", &admin, &body).await, &kind).await;
        assert_eq!(created["kind"], kind);
        if kind == "body_meeting" {
            meeting = created;
        }
    }
    for language in inputs.take("POST /api/v1/meetings body.language") {
        let body = json!({"body_id": board, "title": "Meeting", "language": language,
                          "start": "2030-01-08T10:00:00", "end": "2030-01-08T11:00:00"});
        let created = accepted(app.post("/api/v1/meetings", &admin, &body).await, &language).await;
        assert_eq!(created["language"], language);
    }
    for kind in inputs.take("GET /api/v1/meetings query.kind") {
        let items = app
            .list_items(&format!("/api/v1/meetings?kind={kind}"), &admin)
            .await;
        assert!(!items.is_empty(), "kind={kind}");
    }
    for status in inputs.take("GET /api/v1/meetings query.status") {
        let res = app
            .get(&format!("/api/v1/meetings?status={status}"), &admin)
            .await;
        accepted(res, &status).await;
    }
    let event = json!({"kind": "open_event", "title": "Open day", "capacity": 2,
                       "start": "2030-01-09T10:00:00", "end": "2030-01-09T11:00:00"});
    let event = id_of(
        &accepted(
            app.post("/api/v1/meetings", &admin, &event).await,
            "open_event",
        )
        .await,
    );
    for status in inputs.take("GET /api/v1/meetings/{id}/registrations query.status") {
        let res = app
            .get(
                &format!("/api/v1/meetings/{event}/registrations?status={status}"),
                &admin,
            )
            .await;
        accepted(res, &status).await;
    }
    for language in inputs.take("POST /api/v1/events/{id}/registrations body.language") {
        let body = json!({"name": format!("Registrant {language}"), "language": language,
                          "email": format!("registrant.{language}@example.org")});
        let res = app
            .post_anon(&format!("/api/v1/events/{event}/registrations"), &body)
            .await;
        accepted(res, &language).await;
    }
    let meeting_path = format!("/api/v1/meetings/{}", id_of(&meeting));
    for language in inputs.take("PATCH /api/v1/meetings/{id} body.language") {
        let res = app
            .patch(
                &meeting_path,
                &admin,
                Some(&version_tag(&meeting)),
                &json!({ "language": language }),
            )
            .await;
        meeting = accepted(res, &language).await;
        assert_eq!(meeting["language"], language);
    }
    for status in inputs.take("PATCH /api/v1/meetings/{id} body.status") {
        let body = json!({"body_id": board, "title": format!("Meeting {status}"),
                          "start": "2030-01-09T10:00:00", "end": "2030-01-09T11:00:00"});
        let fresh = accepted(app.post("/api/v1/meetings", &admin, &body).await, &status).await;
        let path = format!("/api/v1/meetings/{}", id_of(&fresh));
        let res = app
            .patch(
                &path,
                &admin,
                Some(&version_tag(&fresh)),
                &json!({ "status": status }),
            )
            .await;
        let patched = accepted(res, &status).await;
        assert_eq!(patched["status"], status);
    }
    for response in inputs.take("PUT /api/v1/meetings/{id}/rsvp body.response") {
        let res = app
            .send_json(
                Method::PUT,
                &format!("{meeting_path}/rsvp"),
                &admin,
                None,
                Some(&json!({ "response": response })),
            )
            .await;
        let answered = accepted(res, &response).await;
        assert_eq!(answered["response"], response);
    }
    // One occurrence of a weekly series patched to each status and language.
    let series = accepted(
        app.post(
            "/api/v1/meetings",
            &admin,
            &json!({"body_id": board, "title": "Weekly", "start": "2030-01-07T10:00:00",
                    "end": "2030-01-07T11:00:00", "rrule": "FREQ=WEEKLY"}),
        )
        .await,
        "series",
    )
    .await;
    let series_path = format!("/api/v1/meetings/{}", id_of(&series));
    let mut week = 1;
    let mut occurrence = |field: &str, value: &str| {
        week += 1;
        let start =
            chrono::NaiveDate::from_ymd_opt(2030, 1, 7).unwrap() + chrono::TimeDelta::weeks(week);
        // 10:00 in Oslo in winter is 09:00 UTC.
        (
            format!("{series_path}/occurrences/{start}T09:00:00Z"),
            json!({ field: value }),
        )
    };
    let mut tries = Vec::new();
    for language in inputs.take("PATCH /api/v1/meetings/{id}/occurrences/{start} body.language") {
        tries.push((
            "language",
            language.clone(),
            occurrence("language", &language),
        ));
    }
    for status in inputs.take("PATCH /api/v1/meetings/{id}/occurrences/{start} body.status") {
        tries.push(("status", status.clone(), occurrence("status", &status)));
    }
    for (field, value, (path, body)) in tries {
        let current = accepted(app.post(&path, &admin, &json!({})).await, &value).await;
        let res = app
            .patch(&path, &admin, Some(&version_tag(&current)), &body)
            .await;
        let patched = accepted(res, &value).await;
        assert_eq!(patched[field], value);
    }
    // Each answer through a signed link (the admin's own invitation to the board's meeting).
    let meeting_id = id_of(&meeting);
    let token = {
        use connect::schema::{meeting_invitees as mi, notifications as n};
        use diesel::prelude::*;
        let mut conn = app.db_conn();
        let texts: Vec<String> = n::table
            .filter(n::kind.eq("meeting_invitation"))
            .select(n::body_text)
            .load(&mut conn)
            .unwrap();
        let invited: i64 = mi::table
            .filter(mi::meeting_id.eq(&meeting_id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert!(invited > 0);
        let text = texts
            .iter()
            .find(|t| t.contains(&meeting["title"].as_str().unwrap().to_string()))
            .expect("the board meeting's invitation");
        let start = text.find("/meetings/answer?token=").unwrap() + 23;
        text[start..].split('&').next().unwrap().to_owned()
    };
    for response in inputs.take("POST /api/v1/meeting-answers body.response") {
        let res = app
            .post_anon(
                "/api/v1/meeting-answers",
                &json!({ "token": token, "response": response }),
            )
            .await;
        let answered = accepted(res, &response).await;
        assert_eq!(answered["response"], response);
    }
    // Action items moved to each status (one of the board's members owns them); mine listed by
    // each status.
    let owner = seat["person_id"].clone();
    for status in inputs.take("PATCH /api/v1/meetings/{id}/action-items/{item_id} body.status") {
        let body = json!({"title": format!("Task {status}"), "owner_person_id": owner,
                          "due_on": "2030-02-01"});
        let item = accepted(
            app.post(&format!("{meeting_path}/action-items"), &admin, &body)
                .await,
            &status,
        )
        .await;
        let res = app
            .patch(
                &format!("{meeting_path}/action-items/{}", id_of(&item)),
                &admin,
                Some(&version_tag(&item)),
                &json!({ "status": status }),
            )
            .await;
        let patched = accepted(res, &status).await;
        assert_eq!(patched["status"], status);
    }
    for status in inputs.take("GET /api/v1/me/action-items query.status") {
        let res = app
            .get(&format!("/api/v1/me/action-items?status={status}"), &admin)
            .await;
        let page = accepted(res, &status).await;
        let items = page["items"].as_array().unwrap();
        assert!(
            items.iter().all(|i| i["status"] == status),
            "status={status}"
        );
    }

    // My preferences, in each language.
    for language in inputs.take("PUT /api/v1/me/notification-preferences body.language") {
        let body = json!({"language": language, "membership_changed": true});
        let res = app
            .send_json(
                Method::PUT,
                "/api/v1/me/notification-preferences",
                &admin,
                None,
                Some(&body),
            )
            .await;
        let saved = accepted(res, &language).await;
        assert_eq!(saved["language"], language);
    }

    // Scheduling polls in each language, and the list by each status.
    for language in inputs.take("POST /api/v1/scheduling-polls body.language") {
        let body = json!({"title": format!("Poll {language}"), "language": language,
                          "slots": [{"start": "2030-02-04T10:00:00", "end": "2030-02-04T11:00:00"}],
                          "guests": [{"name": "Guest", "email": format!("{language}@example.org")}]});
        let res = app.post("/api/v1/scheduling-polls", &admin, &body).await;
        let poll = accepted(res, &language).await;
        assert_eq!(poll["language"], language);
    }
    for status in inputs.take("GET /api/v1/scheduling-polls query.status") {
        let res = app
            .get(&format!("/api/v1/scheduling-polls?status={status}"), &admin)
            .await;
        let page = accepted(res, &status).await;
        let items = page["items"].as_array().unwrap();
        assert!(
            items.iter().all(|i| i["status"] == status),
            "status={status}"
        );
    }

    // Webhook subscriptions to each kind of event (inactive: nothing is sent), the lists by
    // each kind and state, and a change to each kind.
    let mut hook = None;
    for kind in inputs.take("POST /api/v1/webhooks body.events") {
        let body = json!({"url": "http://127.0.0.1:9/hooks", "events": [kind], "active": false});
        let sub = accepted(app.post("/api/v1/webhooks", &admin, &body).await, &kind).await;
        assert_eq!(sub["subscription"]["events"], json!([kind]));
        hook = Some(sub["subscription"].clone());
    }
    let hook = hook.unwrap();
    let hook_path = format!("/api/v1/webhooks/{}", id_of(&hook));
    for kind in inputs.take("PATCH /api/v1/webhooks/{id} body.events") {
        let etag = app.current_etag(&hook_path, &admin).await;
        let res = app
            .patch(
                &hook_path,
                &admin,
                Some(&etag),
                &json!({ "events": [kind] }),
            )
            .await;
        assert_eq!(accepted(res, &kind).await["events"], json!([kind]));
    }
    for kind in inputs.take("GET /api/v1/webhooks query.event") {
        let res = app
            .get(&format!("/api/v1/webhooks?event={kind}"), &admin)
            .await;
        let page = accepted(res, &kind).await;
        assert!(
            !page["items"].as_array().unwrap().is_empty(),
            "event={kind}"
        );
    }
    expect(
        app.post(&format!("{hook_path}/test"), &admin, &json!({}))
            .await,
        202,
    )
    .await;
    for kind in inputs.take("GET /api/v1/webhooks/{id}/deliveries query.event_type") {
        let res = app
            .get(&format!("{hook_path}/deliveries?event_type={kind}"), &admin)
            .await;
        let page = accepted(res, &kind).await;
        let n = usize::from(kind == "webhook.test");
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            n,
            "event_type={kind}"
        );
    }
    for state in inputs.take("GET /api/v1/webhooks/{id}/deliveries query.state") {
        let res = app
            .get(&format!("{hook_path}/deliveries?state={state}"), &admin)
            .await;
        let page = accepted(res, &state).await;
        let n = usize::from(state == "pending");
        assert_eq!(page["items"].as_array().unwrap().len(), n, "state={state}");
    }

    // API tokens with each scope.
    for scope in inputs.take("POST /api/v1/api-tokens body.scopes") {
        let body = json!({"name": scope, "scopes": [scope]});
        let res = app.post("/api/v1/api-tokens", &admin, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{scope}");
    }

    assert!(
        inputs.0.is_empty(),
        "enum inputs in the spec that this test does not try yet: {:#?}",
        inputs.0.keys()
    );
}

// Examples reachable for every body.

/// Whether a client or Schemathesis can build an example of `schema` from the spec: it has an
/// `example` (or `examples`, `enum`, `const`), may be `null`, or is an object whose required
/// properties, an array whose items, a `oneOf`/`anyOf` one of whose alternatives, or an `allOf`
/// all of whose parts have one.
fn example_reachable(spec: &Value, schema: &Value, depth: usize) -> bool {
    let schema = resolve(spec, schema);
    if depth > 16 {
        return false;
    }
    if ["example", "examples", "enum", "const"]
        .iter()
        .any(|k| schema.get(k).is_some())
    {
        return true;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
        Value::String(t) => vec![t.as_str()],
        _ => vec![],
    };
    if types.contains(&"null") {
        return true;
    }
    for keyword in ["oneOf", "anyOf"] {
        if let Some(alternatives) = schema[keyword].as_array() {
            return alternatives
                .iter()
                .any(|s| example_reachable(spec, s, depth + 1));
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        return parts.iter().all(|s| example_reachable(spec, s, depth + 1));
    }
    if types.contains(&"object") {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        return !required.is_empty()
            && required.iter().all(|name| {
                let property = &schema["properties"][name.as_str().unwrap_or_default()];
                property.is_object() && example_reachable(spec, property, depth + 1)
            });
    }
    if types.contains(&"array") {
        return example_reachable(spec, &schema["items"], depth + 1);
    }
    false
}

/// "METHOD path request|response status" of every JSON request body and 2xx response body
/// without an example reachable.
fn bodies_without_examples(spec: &Value) -> Vec<String> {
    let mut missing = Vec::new();
    let reachable = |media: &Value| {
        media.get("example").is_some()
            || media.get("examples").is_some()
            || example_reachable(spec, &media["schema"], 0)
    };
    for (method, path, op) in operations(spec) {
        let at = format!("{} {path}", method.to_uppercase());
        for (media, m) in entries(&op["requestBody"]["content"]) {
            if media.contains("json") && !reachable(m) {
                missing.push(format!("{at} request {media}"));
            }
        }
        for (status, response) in entries(&op["responses"]) {
            if !status.starts_with('2') {
                continue;
            }
            for (media, m) in entries(&response["content"]) {
                if media.contains("json") && !reachable(m) {
                    missing.push(format!("{at} response {status} {media}"));
                }
            }
        }
    }
    missing
}

#[test]
fn every_json_request_and_success_body_has_an_example() {
    let spec = committed_spec();
    let missing = bodies_without_examples(&spec);
    assert!(missing.is_empty(), "no example reachable: {missing:#?}");
}

#[test]
fn the_example_walk_catches_a_body_without_one() {
    let mut spec = committed_spec();
    let schemas = spec["components"]["schemas"].as_object_mut().unwrap();
    schemas["Health"].as_object_mut().unwrap().remove("example");
    schemas["CreateOrganisation"]
        .as_object_mut()
        .unwrap()
        .remove("example");
    let missing = bodies_without_examples(&spec);
    assert_eq!(
        missing,
        [
            "POST /api/v1/organisations request application/json",
            "GET /healthz response 200 application/json",
            "GET /readyz response 200 application/json",
        ],
        "{missing:#?}"
    );
}

/// The text patterns `openapi::finish` puts on bounded strings accept exactly what
/// `Validator::text` (required) and `Validator::optional_text` accept, for strings within the
/// length and without surrounding white space (which the server trims and the pattern allows).
#[test]
fn the_text_patterns_agree_with_the_validator() {
    use connect::validation::{TEXT_PATTERN, VISIBLE_TEXT_PATTERN, Validator};
    let samples = [
        "Kari Nordmann",
        "Roche Norge AS",
        "Æøå – “quoted” ✓",
        "",
        " ",
        "a\nb",
        "tab\there",
        "nul\u{0}",
        "\u{7F}del",
        "c1\u{85}x",
        "\u{200B}",
        "\u{200B}\u{FEFF}",
        "x\u{202E}y",
        "x\u{2066}y",
        "soft\u{AD}hyphen",
    ];
    let matches = |pattern: &str, v: &str| {
        jsonschema::validator_for(&json!({"type": "string", "pattern": pattern}))
            .unwrap()
            .is_valid(&json!(v))
    };
    for v in samples {
        let mut required = Validator::new();
        required.text("f", v, 200);
        assert_eq!(
            matches(VISIBLE_TEXT_PATTERN, v),
            required.finish().is_ok(),
            "text {v:?}"
        );
        let mut optional = Validator::new();
        optional.optional_text("f", Some(v), 200);
        assert_eq!(
            matches(TEXT_PATTERN, v),
            optional.finish().is_ok(),
            "optional_text {v:?}"
        );
    }
}
