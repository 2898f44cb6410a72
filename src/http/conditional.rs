//! Conditional reads: every successful `GET` under `/api/v1` carries an `ETag`, and a request whose
//! `If-None-Match` names the current one is answered `304 Not Modified` without a body, so a client
//! polling the register transfers nothing while nothing changed.
//!
//! A single record's tag is its version (`"3"`, set by the handler: the same tag `If-Match`
//! takes). Any other `200` (a list page, a CSV export, `/me`) gets a weak tag computed from the
//! body, so it changes exactly when what this caller is shown changes, and two callers shown
//! different rows get different tags. Weak, because `Compress` (outside this middleware) sends
//! the same content gzipped or not under one tag.
//!
//! The handler still runs (a `304` saves the transfer, not the query): the tag of a list is only
//! known once the list is read.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The weak `ETag` of a response body: its 128-bit XXH3. A validator only has to change when the
/// body does; a non-cryptographic hash does that at a twentieth of SHA-256's cost (which was 5-7 %
/// of a list request's CPU), and a crafted collision could at most make one poll miss one change.
pub fn body_etag(body: &[u8]) -> String {
    let digest = xxhash_rust::xxh3::xxh3_128(body).to_be_bytes();
    format!("W/\"{}\"", URL_SAFE_NO_PAD.encode(digest))
}

/// True when `If-None-Match` (a list of tags, or `*`) names `etag`, by the weak comparison
/// RFC 9110 prescribes for it (`W/"x"` and `"x"` match).
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let current = opaque(etag);
    if_none_match.trim() == "*" || if_none_match.split(',').any(|t| opaque(t) == current)
}

/// Headers a `304` repeats from the `200` it stands for (RFC 9110, section 15.4.5).
const KEPT_ON_304: [header::HeaderName; 5] = [
    header::ETAG,
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::EXPIRES,
    header::VARY,
];

/// The middleware (see the module docs).
pub async fn conditional_get(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != Method::GET {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut res, body) = res.into_parts();
    let body = match res.headers().get(header::ETAG) {
        Some(_) => BoxBody::new(body),
        // A streamed body is passed on untagged (no handler streams today).
        None => match body.try_into_bytes() {
            Ok(bytes) => {
                if let Ok(tag) = HeaderValue::from_str(&body_etag(&bytes)) {
                    res.headers_mut().insert(header::ETAG, tag);
                }
                BoxBody::new(bytes)
            }
            Err(body) => BoxBody::new(body),
        },
    };
    let etag = res
        .headers()
        .get(header::ETAG)
        .and_then(|t| t.to_str().ok());
    let not_modified = match (if_none_match.as_ref().map(|v| v.to_str()), etag) {
        (Some(Ok(wanted)), Some(etag)) => none_match(wanted, etag),
        _ => false,
    };
    if !not_modified {
        return Ok(ServiceResponse::new(req, res.set_body(body)));
    }
    let mut unchanged = HttpResponse::NotModified();
    for name in KEPT_ON_304 {
        for value in res.headers().get_all(&name) {
            unchanged.append_header((name.clone(), value.clone()));
        }
    }
    Ok(ServiceResponse::new(req, unchanged.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(none_match("\"3\"", "\"3\""));
        assert!(none_match("W/\"3\"", "\"3\""));
        assert!(none_match("\"3\"", "W/\"3\""));
        assert!(none_match("\"1\", W/\"abc\" ,\"2\"", "W/\"abc\""));
        assert!(none_match("*", "W/\"abc\""));
        assert!(!none_match("\"4\"", "\"3\""));
        assert!(!none_match("\"abc\"x", "W/\"abc\""));
        assert!(!none_match("", "\"3\""));
    }

    #[test]
    fn body_tags_are_weak_and_follow_the_bytes() {
        let a = body_etag(b"{\"items\":[]}");
        assert!(a.starts_with("W/\"") && a.ends_with('"') && a.len() == 2 + 2 + 22);
        assert_eq!(a, body_etag(b"{\"items\":[]}"));
        assert_ne!(a, body_etag(b"{\"items\":[1]}"));
    }
}
