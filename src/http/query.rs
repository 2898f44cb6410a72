//! `Query<T>`: the query-string extractor every list uses. Unknown parameters and bad values
//! answer 422 `validation-failed` naming the parameter.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The longest value a query parameter may have (a search text, an e-mail, a cursor).
pub const MAX_QUERY_VALUE_CHARS: usize = 2000;

/// Every parameter value, checked once for all lists: bounded in length, and free of control
/// characters (a NUL cannot be stored or compared by PostgreSQL; a long `LIKE` pattern is refused
/// by SQLite as too complex).
fn check_values(query: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if value.chars().count() > MAX_QUERY_VALUE_CHARS {
            errors.push(FieldError::new(
                name.as_ref(),
                "too_long",
                format!("must be at most {MAX_QUERY_VALUE_CHARS} characters"),
            ));
        } else if value.chars().any(char::is_control) {
            errors.push(FieldError::new(
                name.as_ref(),
                "invalid_characters",
                "may not contain control characters",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Parses a query string into `T`, naming the offending parameter on failure.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_values(query)?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let named = message.split('`').nth(1).map(str::to_owned);
        let (field, code) = if message.starts_with("unknown field") {
            (named.unwrap_or_else(|| "query".into()), "unknown_parameter")
        } else if message == crate::core::INVALID_ID {
            (path, "invalid_format")
        } else if path != "." {
            (path, "invalid_value")
        } else {
            (named.unwrap_or_else(|| "query".into()), "invalid_value")
        };
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    })
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        limit: Option<i64>,
        active: Option<bool>,
        organisation_id: Option<crate::core::Id>,
    }

    fn field(q: &str) -> (String, String) {
        match parse_query::<Q>(q) {
            Err(ApiError::Validation(e)) => (e[0].field.clone(), e[0].code.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_bad_parameter() {
        assert_eq!(field("limit=abc"), ("limit".into(), "invalid_value".into()));
        assert_eq!(
            field("active=perhaps"),
            ("active".into(), "invalid_value".into())
        );
        assert_eq!(
            field("colour=red"),
            ("colour".into(), "unknown_parameter".into())
        );
        assert_eq!(
            field("organisation_id=roche"),
            ("organisation_id".into(), "invalid_format".into())
        );
        assert!(parse_query::<Q>("limit=5&active=true").is_ok());
    }

    #[test]
    fn values_are_bounded_and_free_of_control_characters() {
        assert_eq!(
            field("limit=1%00"),
            ("limit".into(), "invalid_characters".into())
        );
        let long = format!("limit={}", "9".repeat(MAX_QUERY_VALUE_CHARS + 1));
        assert_eq!(field(&long), ("limit".into(), "too_long".into()));
    }
}
