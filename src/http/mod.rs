//! Cross-cutting HTTP machinery, one implementation each, used the same way by every module.

pub mod accept;
pub mod client_ip;
pub mod conditional;
pub mod csv;
pub mod etag;
pub mod idempotency;
pub mod json;
pub mod methods;
pub mod observe;
pub mod pagination;
pub mod query;

pub use etag::{IfMatch, created, etag, versioned, won_race};
pub use json::Json;
pub use pagination::{Page, PageRequest};
pub use query::Query;

/// The largest request body the service reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The answer to a path that does not deserialise. Path parameters are ids, so the one that is not
/// a UUID is named (installed as the app's `PathConfig` error handler).
pub fn path_error(
    err: actix_web::error::PathError,
    req: &actix_web::HttpRequest,
) -> actix_web::Error {
    let detail = match req
        .match_info()
        .iter()
        .map(|(_, value)| value)
        .find(|value| crate::core::Id::parse(value).is_err())
    {
        Some(raw) => format!(
            "'{}' is not a valid id (a UUID is expected)",
            raw.chars().take(64).collect::<String>()
        ),
        None => format!("invalid path parameter: {err}"),
    };
    crate::error::ApiError::bad_request(crate::error::ProblemType::InvalidParameter, detail).into()
}
