//! `Json<T>`: the request-body extractor every handler uses.
//!
//! It insists on `Content-Type: application/json` (415), reads at most [`MAX_BODY_BYTES`] (413),
//! answers 400 `invalid-json` for syntax errors and 422 `validation-failed` with the JSON path of the
//! offending field for type errors, missing fields and unknown fields (every body type uses
//! `deny_unknown_fields`).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

use super::MAX_BODY_BYTES;
use crate::error::{ApiError, FieldError, ProblemType};

pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// True for `application/json` and `application/<something>+json`.
pub fn is_json_content_type(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(m)) => {
            m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
        }
        _ => false,
    }
}

/// Reads a whole body with the size limit, answering 413 past it.
pub async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<actix_web::web::Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge,
            _ => ApiError::bad_request(ProblemType::MalformedRequest, "the body could not be read"),
        })?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Deserialises a JSON body, mapping serde's errors to problems with field paths. When a field is
/// missing, unknown or of the wrong type, every such field of the top-level object is named at
/// once: serde stops at the first, so the rest are found by comparing the object with the body
/// type's schema (its required properties, its known properties and their JSON types).
pub fn parse_json<T: DeserializeOwned + PartialSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_first(bytes).map_err(|e| match e {
        ApiError::Validation(mut errors) => {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
                for more in schema_errors(&T::schema(), &value) {
                    if !errors.iter().any(|e| e.field == more.field) {
                        errors.push(more);
                    }
                }
            }
            ApiError::Validation(errors)
        }
        other => other,
    })
}

/// Every missing required property, unknown property and property of the wrong JSON type of a
/// top-level object, judged against an inline object schema (nested and referenced schemas are
/// left to serde, which names the first error in them).
fn schema_errors(schema: &RefOr<Schema>, value: &serde_json::Value) -> Vec<FieldError> {
    let (RefOr::T(Schema::Object(object)), serde_json::Value::Object(fields)) = (schema, value)
    else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for name in &object.required {
        if !fields.contains_key(name) {
            errors.push(FieldError::new(
                name,
                "required",
                format!("missing field `{name}`"),
            ));
        }
    }
    for (name, v) in fields {
        match object.properties.get(name) {
            None => errors.push(FieldError::new(
                name,
                "unknown_field",
                format!("unknown field `{name}`"),
            )),
            Some(property) => {
                if let Some(expected) = type_mismatch(property, v) {
                    errors.push(FieldError::new(
                        name,
                        "invalid_type",
                        format!("invalid type, expected {expected}"),
                    ));
                }
            }
        }
    }
    errors
}

/// The expected JSON type when `value` cannot be of the property's (inline) schema's type.
fn type_mismatch(property: &RefOr<Schema>, value: &serde_json::Value) -> Option<&'static str> {
    use utoipa::openapi::schema::{SchemaType, Type};
    let types: Vec<Type> = match property {
        RefOr::T(Schema::Object(o)) => match &o.schema_type {
            SchemaType::Type(t) => vec![t.clone()],
            SchemaType::Array(ts) => ts.clone(),
            SchemaType::AnyValue => return None,
        },
        RefOr::T(Schema::Array(a)) => match &a.schema_type {
            SchemaType::Type(t) => vec![t.clone()],
            SchemaType::Array(ts) => ts.clone(),
            SchemaType::AnyValue => return None,
        },
        _ => return None,
    };
    let fits = |t: &Type| match t {
        Type::Object => value.is_object(),
        Type::String => value.is_string(),
        Type::Integer => value.is_i64() || value.is_u64(),
        Type::Number => value.is_number(),
        Type::Boolean => value.is_boolean(),
        Type::Array => value.is_array(),
        Type::Null => value.is_null(),
    };
    if types.is_empty() || types.iter().any(fits) {
        return None;
    }
    let name = |t: &Type| match t {
        Type::Object => "an object",
        Type::String => "a string",
        Type::Integer => "an integer",
        Type::Number => "a number",
        Type::Boolean => "a boolean",
        Type::Array => "an array",
        Type::Null => "null",
    };
    types.iter().find(|t| **t != Type::Null).map(name)
}

fn parse_json_first<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            ProblemType::InvalidJson,
            "a JSON body is required",
        ));
    }
    if has_escaped_nul(bytes) {
        return Err(ApiError::invalid(
            "body",
            "invalid_characters",
            "text may not contain the NUL character (\\u0000)",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(&path, &inner)
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

/// Whether a JSON text escapes a NUL (`\u0000`) in a string: no text field of the service may hold
/// one (PostgreSQL cannot store it, and nothing legitimate contains it). A raw NUL byte is not
/// valid JSON at all, and the parser refuses it.
fn has_escaped_nul(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000")
            && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            ProblemType::InvalidJson,
            format!(
                "the body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        Category::Data => {
            let msg = e.to_string();
            // serde's message ends with " at line L column C": drop it.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            let named = msg.split('`').nth(1).map(str::to_owned);
            let base = if path == "." {
                String::new()
            } else {
                path.to_owned()
            };
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_owned()
                } else {
                    format!("{base}.{name}")
                }
            };
            let (field, code) = if msg.starts_with("unknown field") {
                // The path already ends at the unknown key itself.
                let name = named.as_deref().unwrap_or("?");
                let at_key = base == name || base.ends_with(&format!(".{name}"));
                (
                    if at_key { base.clone() } else { join(name) },
                    "unknown_field",
                )
            } else if msg.starts_with("missing field") {
                (join(named.as_deref().unwrap_or("?")), "required")
            } else if msg == crate::core::INVALID_ID {
                (base.clone(), "invalid_format")
            } else if msg.starts_with("unknown variant") {
                (base.clone(), "invalid_value")
            } else if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
                (base.clone(), "invalid_type")
            } else {
                (base.clone(), "invalid")
            };
            let field = if field.is_empty() {
                "body".to_owned()
            } else {
                field
            };
            ApiError::Validation(vec![FieldError::new(field, code, msg)])
        }
    }
}

impl<T: DeserializeOwned + PartialSchema + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json_content_type(&req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = read_body(&req, &mut payload).await?;
            parse_json(&bytes).map(Json)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
        owner: Option<crate::core::Id>,
        count: Option<i32>,
    }
    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: i32,
    }

    fn field_error(json: &str) -> FieldError {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::Validation(mut e)) => e.remove(0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field_in_every_data_error() {
        let e = field_error(r#"{"name":"x","colour":1}"#);
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("colour", "unknown_field")
        );
        let e = field_error(r#"{}"#);
        assert_eq!((e.field.as_str(), e.code.as_str()), ("name", "required"));
        let e = field_error(r#"{"name":"x","owner":"roche"}"#);
        assert_eq!(
            (e.field.as_str(), e.code.as_str(), e.message.as_str()),
            ("owner", "invalid_format", "must be a UUID")
        );
        let e = field_error(r#"{"name":"x","inner":{"n":"seven"}}"#);
        assert_eq!(
            (e.field.as_str(), e.code.as_str()),
            ("inner.n", "invalid_type")
        );
    }

    #[test]
    fn every_missing_unknown_and_mistyped_field_is_named_at_once() {
        let errors = match parse_json::<Body>(br#"{"colour":1,"count":"7","owner":"x"}"#) {
            Err(ApiError::Validation(e)) => e,
            other => panic!("{other:?}"),
        };
        let mut found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("colour", "unknown_field"),
                ("count", "invalid_type"),
                ("name", "required"),
            ]
        );
    }

    #[test]
    fn a_nul_anywhere_in_a_string_is_refused_but_an_escaped_backslash_is_not_one() {
        let nul = |json: &str| super::has_escaped_nul(json.as_bytes());
        assert!(nul(r#"{"name": "a\u0000b"}"#));
        assert!(nul(r#"{"name": "\U0000"}"#));
        assert!(nul(r#"{"name": "x\\\u0000"}"#));
        assert!(!nul(r#"{"name": "x\\u0000"}"#));
        assert!(!nul(r#"{"name": "u0000"}"#));
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        for bad in [r#"{"name":"#, "", "  ", r#"{"name":"x"} trailing"#] {
            let e = parse_json::<Body>(bad.as_bytes()).unwrap_err();
            assert_eq!(e.slug(), "invalid-json", "{bad}");
        }
    }
}
