//! Versioned records: every read and write answers `ETag: "<version>"`; `PATCH` and `DELETE`
//! require `If-Match` with the ETag of the version the client read (428 without it, 412 when it no
//! longer matches). `If-Match: *` ("whatever the version") is refused with 428: it would let a
//! client overwrite edits it never saw, which is what `If-Match` is there to prevent.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use std::future::{Ready, ready};

use crate::error::ApiError;

/// The ETag of a record version.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Ends a conditional write (`… WHERE id = ? AND version = <the version read>`): when no row
/// matched, another request changed the record since it was read, and this one answers 412.
pub fn won_race(rows: usize) -> Result<(), ApiError> {
    if rows == 0 {
        Err(ApiError::PreconditionFailed)
    } else {
        Ok(())
    }
}

/// The versions a write may apply to. `None` (any version) is for the service's own writes that
/// need no precondition (a restore); a request's `If-Match: *` is refused.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Option<Vec<i32>>);

impl IfMatch {
    /// True when the current version satisfies the precondition.
    pub fn matches(&self, version: i32) -> bool {
        match &self.0 {
            None => true,
            Some(vs) => vs.contains(&version),
        }
    }

    /// 412 unless the current version satisfies the precondition.
    pub fn check(&self, version: i32) -> Result<(), ApiError> {
        if self.matches(version) {
            Ok(())
        } else {
            Err(ApiError::PreconditionFailed)
        }
    }

    pub fn parse(raw: &str) -> Self {
        if raw.trim() == "*" {
            return Self(None);
        }
        // Weak tags never match under If-Match (strong comparison), so they are skipped.
        let versions = raw
            .split(',')
            .map(str::trim)
            .filter(|t| !t.starts_with("W/"))
            .filter_map(|t| t.strip_prefix('"')?.strip_suffix('"')?.parse::<i32>().ok())
            .collect();
        Self(Some(versions))
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            match req.headers().get(header::IF_MATCH).map(|v| v.to_str()) {
                None => Err(ApiError::PreconditionRequired(
                    "send If-Match with the ETag you last read, so no edit is lost".into(),
                )),
                Some(Ok(v)) => match Self::parse(v) {
                    Self(None) => Err(ApiError::PreconditionRequired(
                        "If-Match: * is not accepted, as it would overwrite edits you have not \
                         seen: send the record's ETag (read it with GET), e.g. If-Match: \"3\""
                            .into(),
                    )),
                    versions => Ok(versions),
                },
                Some(Err(_)) => Ok(Self(Some(Vec::new()))),
            },
        )
    }
}

/// A JSON response for one versioned record, with its `ETag`.
pub fn versioned<T: serde::Serialize>(
    status: actix_web::http::StatusCode,
    version: i32,
    body: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::build(status)
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// `201 Created` with `Location` and `ETag`.
pub fn created<T: serde::Serialize>(
    location: String,
    version: i32,
    body: &T,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_if_match() {
        assert!(IfMatch::parse("\"3\"").matches(3));
        assert!(!IfMatch::parse("\"3\"").matches(4));
        assert!(IfMatch::parse("*").matches(9));
        assert!(IfMatch::parse("\"1\", \"2\"").matches(2));
        assert!(!IfMatch::parse("W/\"3\"").matches(3));
        assert!(!IfMatch::parse("garbage").matches(1));
    }
}
