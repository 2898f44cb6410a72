//! The OpenAPI document: paths are collected from the handlers by `utoipa-actix-web`; this module
//! adds what is common to every operation in one pass (error responses, `If-Match` and
//! `Idempotency-Key` headers, security schemes), so no handler can forget them.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Tag,
};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::{Role, Scope};
use crate::error::{PROBLEM_JSON, Problem, ProblemType};
use crate::validation::{TEXT_PATTERN, VISIBLE_TEXT_PATTERN};

const DESCRIPTION: &str = "\
The service that runs the CONNECT consortium: the Norwegian public-private partnership in precision \
cancer medicine coordinated by Oslo Cancer Cluster. It keeps the register of partner organisations \
and their membership, people and accounts, and who may do what.

**Authentication.** `POST /api/v1/auth/login` gives an access token (a JWT, 15 minutes) and a \
single-use refresh token; send `Authorization: Bearer <access token>`. Machines use API tokens \
(`POST /api/v1/api-tokens`, secret shown once, starting with `cnt_`), limited to their scopes and \
never more than their owner may do.

**Conventions.** JSON with snake_case fields; ids are UUIDs (v7); times RFC 3339 in UTC; dates \
`YYYY-MM-DD`. Lists take `limit` (1-200, default 50) and `cursor` (the previous page's \
`next_cursor`; a cursor works only on the list that gave it out). Records carry a `version`, \
returned as `ETag`; `PATCH` and `DELETE` need `If-Match` with that `ETag` (412 when stale, 428 \
when missing or `*`). Every successful `GET` carries an `ETag` (a record's \
version, or a weak tag of a list page that changes when what you are shown changes): send it back \
as `If-None-Match` and, while it is current, the answer is `304 Not Modified` with no body. `POST`s that create accept `Idempotency-Key`: a \
retry with the same key and body replays the first response (header `Idempotent-Replayed: true`); \
a request that was carried out but whose response was lost is not run again (409 \
`idempotency-response-lost`: read the resource instead). \
Unknown fields are rejected; bodies are limited to 64 KiB. Whatever you may not see answers 404.

**Errors** are RFC 9457 problem documents (`application/problem+json`) whose `type` is one of:
";

/// The hand-written part of the document: info, tags, security schemes, shared components.
pub fn base() -> OpenApi {
    let mut description = DESCRIPTION.to_owned();
    for kind in ProblemType::ALL {
        description.push_str(&format!(
            "\n- `{}` ({}): {}",
            kind.uri(),
            kind.status().as_u16(),
            kind.title()
        ));
    }
    let mut api = OpenApi::new(
        InfoBuilder::new()
            .title("CONNECT consortium API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(description))
            .build(),
        utoipa::openapi::Paths::new(),
    );
    let mut components = Components::new();
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            utoipa::openapi::security::HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "An access token from `POST /api/v1/auth/login` or `/auth/refresh`.",
                ))
                .build(),
        ),
    );
    let mut token = Http::new(HttpAuthScheme::Bearer);
    token.bearer_format = Some("cnt_…".into());
    token.description = Some(api_token_description());
    components.add_security_scheme("api_token", SecurityScheme::Http(token));
    components
        .schemas
        .insert("Problem".into(), Problem::schema());
    let mut problem_schemas = Vec::new();
    Problem::schemas(&mut problem_schemas);
    components.schemas.extend(problem_schemas);
    for (name, description) in COMMON_RESPONSES {
        components.responses.insert(
            (*name).into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    components.headers.insert(
        "ETag".into(),
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(String::schema()))
                .description(Some(ETAG_DESCRIPTION))
                .build(),
        ),
    );
    components.responses.insert(
        "NotModified".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description(
                    "Not modified: the `ETag` sent as `If-None-Match` is still current (no body)",
                )
                .header_ref("ETag", Ref::new("#/components/headers/ETag"))
                .build(),
        ),
    );
    components.parameters.insert(
        "IfNoneMatch".into(),
        RefOr::T(header_param(
            "If-None-Match",
            false,
            "The `ETag` of the answer you hold (or several, comma-separated): while it is current, the answer is `304 Not Modified` with no body.",
        )),
    );
    let mut if_match = header_param(
        "If-Match",
        true,
        "The `ETag` of the version you last read, e.g. `\"3\"`. `*` is refused (428): it would overwrite edits you have not seen.",
    );
    // A strong tag of a version (`"3"`), or several separated by commas.
    if_match.schema = Some(
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some(r#"^"[0-9]{1,9}"(, ?"[0-9]{1,9}")*$"#))
            .examples([serde_json::json!("\"3\"")])
            .into(),
    );
    components
        .parameters
        .insert("IfMatch".into(), RefOr::T(if_match));
    components.parameters.insert("IdempotencyKey".into(), RefOr::T(header_param(
        "Idempotency-Key",
        false,
        "A client-chosen key (1-255 characters) that makes a retry safe: the same key with the same body replays the first response for 24 hours; with another body it answers 422.",
    )));
    api.components = Some(components);
    api.tags = Some(
        [
            ("auth", "Log in, refresh and log out"),
            ("me", "The caller's own account"),
            ("users", "Accounts and roles (secretariat)"),
            ("api-tokens", "Tokens for machines"),
            ("organisations", "The partner register and membership"),
            ("people", "Contacts at the organisations"),
            ("drugs", "Drugs the companies contribute"),
            ("agreements", "Drug-supply agreements, the drugs they cover, their usage and the consortium summary"),
            ("cohorts", "Cohorts: tumour type + alteration + drug, grown in stages as patients benefit"),
            ("allocations", "Patients started under agreements: pseudonymous, capped, evaluated at week 16"),
            ("bodies", "The board, the general assembly, the working groups and who sits in them"),
            ("decisions", "What the bodies decide: proposals, votes, recusals and results"),
            ("meetings", "Bodies' meetings and open events: times in IANA zones, invitees, answers and calendar files"),
            ("events", "Open events for the public: registration without an account, a waiting list that moves up, cancel links, and the secretariat's list of registrants"),
            ("calendar", "Personal calendar feeds: a secret URL for Outlook, Google or Apple Calendar"),
            ("scheduling-polls", "Finding a time: proposed slots, answers from people and guests (through a link), the tally, and the chosen slot turned into a meeting"),
            ("invitations", "Inviting people to accounts"),
            ("notifications", "E-mails and their delivery"),
            ("webhooks", "Events pushed to your integration: subscriptions per kind of event, signed deliveries (Standard Webhooks) with retries, a delivery log, test events"),
            ("audit", "Who changed what"),
            ("operations", "Health, readiness and metrics"),
        ]
        .into_iter()
        .map(|(name, d)| {
            let mut t = Tag::new(name);
            t.description = Some(d.into());
            t
        })
        .collect(),
    );
    api
}

/// The API token scheme's description, with the scopes listed from [`Scope`] (an operation's
/// security requirement names the one it needs, from the same enum).
fn api_token_description() -> String {
    let mut d = String::from(
        "An API token from `POST /api/v1/api-tokens`; the operation lists the scope it needs \
         (none listed: any token). The scopes:",
    );
    let everyone = Scope::allowed_for(Role::PartnerRepresentative);
    for scope in Scope::ALL {
        d.push_str(&format!("\n- `{scope}`: {}", scope.description()));
        if !everyone.contains(scope) {
            d.push_str(" (admins' tokens only)");
        }
    }
    d
}

const COMMON_RESPONSES: &[(&str, &str)] = &[
    (
        "BadRequest",
        "The request could not be read: malformed JSON, a bad path id, query value or cursor",
    ),
    (
        "Unauthenticated",
        "No valid credential: log in, or refresh the access token",
    ),
    (
        "Forbidden",
        "Authenticated, but not allowed (or the API token lacks the scope)",
    ),
    ("NotFound", "No such record, or it is not visible to you"),
    (
        "Conflict",
        "Conflicts with the current state (see `detail`), or the Idempotency-Key is in use or its request was carried out but its response lost",
    ),
    (
        "PreconditionFailed",
        "The record changed since you read it (If-Match does not match)",
    ),
    ("PayloadTooLarge", "The body exceeds 64 KiB"),
    ("UnsupportedMediaType", "The body must be application/json"),
    (
        "ValidationFailed",
        "Invalid fields (listed in `errors`), or the Idempotency-Key was used with another body",
    ),
    ("PreconditionRequired", "If-Match is missing, or is `*`"),
    ("TooManyRequests", "Rate-limited; see Retry-After"),
    ("Internal", "Unexpected error (logged with the request id)"),
    (
        "Unavailable",
        "The database is unreachable (`unavailable`), or cannot store changes because its disk is full or read-only (`storage-unavailable`); retry after `Retry-After` seconds",
    ),
];

const ETAG_DESCRIPTION: &str = "A validator of this answer: the record's version (`\"3\"`), or for a list page a weak tag of its content (`W/\"…\"`). Send it as `If-None-Match` to be answered 304 while it is current.";

fn etag_header() -> RefOr<utoipa::openapi::header::Header> {
    RefOr::Ref(Ref::new("#/components/headers/ETag"))
}

fn header_param(name: &str, required: bool, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(String::schema()))
        .build()
}

fn add_response(op: &mut Operation, status: &str, name: &str) {
    op.responses
        .responses
        .entry(status.into())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

fn add_param_ref(op: &mut Operation, name: &str) {
    op.parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::Ref(Ref::new(format!(
            "#/components/parameters/{name}"
        ))));
}

/// Adds the shared responses and headers to every operation.
pub fn finish(mut api: OpenApi) -> OpenApi {
    for (path, item) in api.paths.paths.iter_mut() {
        let is_api = path.starts_with("/api/");
        let ops: [(&str, &mut Option<Operation>); 5] = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op.as_mut() else { continue };
            if !is_api {
                continue;
            }
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_body = op.request_body.is_some();
            add_response(op, "400", "BadRequest");
            if secured {
                add_response(op, "401", "Unauthenticated");
                add_response(op, "403", "Forbidden");
            }
            // Query parameters are checked like bodies: a bad value is a 422 naming it.
            let has_query = op.parameters.as_ref().is_some_and(|params| {
                params.iter().any(|p| {
                    matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
                })
            });
            if has_body {
                add_response(op, "413", "PayloadTooLarge");
                add_response(op, "415", "UnsupportedMediaType");
            }
            if has_body || has_query {
                add_response(op, "422", "ValidationFailed");
            }
            if method == "post" && secured && has_body {
                add_param_ref(op, "IdempotencyKey");
                add_response(op, "409", "Conflict");
            }
            // API tokens and calendar feeds are revoked without a version; every other PATCH and
            // DELETE is versioned.
            if (method == "patch" || method == "delete")
                && !path.starts_with("/api/v1/api-tokens")
                && path != "/api/v1/me/calendar-feed"
            {
                add_param_ref(op, "IfMatch");
                add_response(op, "412", "PreconditionFailed");
                add_response(op, "428", "PreconditionRequired");
            }
            // Every GET is conditional (see `http::conditional`); its 200 carries an `ETag`.
            if method == "get" {
                add_param_ref(op, "IfNoneMatch");
                add_response(op, "304", "NotModified");
                if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
                    ok.headers.entry("ETag".into()).or_insert_with(etag_header);
                }
            }
            if path.contains("/auth/login")
                || path.contains("/password-reset")
                || path.contains("/invitations/{token}")
            {
                add_response(op, "429", "TooManyRequests");
            }
            add_response(op, "500", "Internal");
            add_response(op, "503", "Unavailable");
            if let Some(RefOr::T(body)) = op.request_body.as_mut() {
                require_body(body);
            }
        }
    }
    if let Some(components) = api.components.as_mut() {
        for schema in components.schemas.values_mut() {
            pattern_text(schema);
        }
    }
    api
}

/// Gives every bounded text field (a string with a `maxLength`, set on the request types with
/// `#[schema(max_length = …)]` from the limit their validation uses, and no `pattern`, `format`
/// or `enum` of its own) the characters `Validator::text` (`minLength` 1) or
/// `Validator::optional_text` accept, so generated requests are not refused for a line break.
fn pattern_text(schema: &mut RefOr<utoipa::openapi::Schema>) {
    use utoipa::openapi::Schema;
    use utoipa::openapi::schema::ArrayItems;
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            if o.max_length.is_some()
                && o.pattern.is_none()
                && o.format.is_none()
                && o.enum_values.is_none()
            {
                let visible = o.min_length.is_some_and(|min| min >= 1);
                let pattern = if visible {
                    VISIBLE_TEXT_PATTERN
                } else {
                    TEXT_PATTERN
                };
                o.pattern = Some(pattern.into());
            }
            for property in o.properties.values_mut() {
                pattern_text(property);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                pattern_text(items);
            }
        }
        Schema::OneOf(o) => o.items.iter_mut().for_each(pattern_text),
        Schema::AllOf(o) => o.items.iter_mut().for_each(pattern_text),
        Schema::AnyOf(o) => o.items.iter_mut().for_each(pattern_text),
        _ => {}
    }
}

fn require_body(body: &mut RequestBody) {
    body.required = Some(Required::True);
}

/// The document as committed in `openapi/openapi.json`.
pub fn to_pretty_json(api: &OpenApi) -> String {
    let mut s = api.to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
