//! Content negotiation for the API: a request whose `Accept` header admits no type the API can
//! send answers 406 `not-acceptable` (the problem document itself is always sent as
//! `application/problem+json`). JSON is served for `application/json`, `application/problem+json`,
//! `application/*` and `*/*`; the lists that export CSV also for `text/csv` (and `text/*`).
//! Only the API scope is negotiated: the HTML pages and `/docs` serve browsers as they are.

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;

use crate::error::ApiError;

/// The middleware (see the module docs).
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let csv =
        (req.method() == Method::GET || req.method() == Method::HEAD) && offers_csv(req.path());
    let acceptable = req
        .headers()
        .get_all(header::ACCEPT)
        .map(|v| v.to_str().ok().map(|s| admits(s, csv)))
        .collect::<Option<Vec<bool>>>();
    // Calendar files (`….ics`: a meeting's, a feed) go to calendar apps, which ask for
    // `text/calendar`: not negotiated.
    let calendar = req.path().ends_with(".ics");
    match acceptable {
        // No Accept header admits anything; an unreadable one is ignored.
        Some(v) if !calendar && !v.is_empty() && !v.contains(&true) => {
            let res = ApiError::NotAcceptable.error_response();
            Ok(req.into_response(res))
        }
        _ => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body),
    }
}

/// The lists with a CSV export: `/api/v1/organisations`, `/api/v1/people`,
/// `/api/v1/organisations/{id}/people`, the allocations (`/api/v1/allocations`,
/// `/api/v1/agreements/{id}/allocations`) and the usage views (`/api/v1/agreements/{id}/usage`,
/// `/api/v1/agreements/usage`), and an open event's registrants
/// (`/api/v1/meetings/{id}/registrations`).
pub fn offers_csv(path: &str) -> bool {
    let parts: Vec<&str> = path
        .trim_end_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    matches!(
        parts.as_slice(),
        ["api", "v1", "organisations"]
            | ["api", "v1", "people"]
            | ["api", "v1", "organisations", _, "people"]
            | ["api", "v1", "allocations"]
            | ["api", "v1", "agreements", "usage"]
            | ["api", "v1", "agreements", _, "allocations" | "usage"]
            | ["api", "v1", "meetings", _, "registrations"]
    )
}

/// Whether one `Accept` header value admits a type the API sends.
pub fn admits(accept: &str, csv: bool) -> bool {
    accept.split(',').any(|range| {
        let mut params = range.split(';');
        let media = params
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let refused = params.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
            && match media.as_str() {
                "*/*" | "application/*" | "application/json" | "application/problem+json" => true,
                "text/csv" | "text/*" => csv,
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_json_wildcards_and_csv_where_offered() {
        assert!(admits("application/json", false));
        assert!(admits("text/html, application/xhtml+xml, */*;q=0.8", false));
        assert!(admits("application/problem+json", false));
        assert!(admits("text/csv", true));
        assert!(!admits("text/csv", false));
        assert!(!admits("application/xml", true));
        assert!(!admits("application/json;q=0", false));
        assert!(offers_csv("/api/v1/organisations/"));
        assert!(offers_csv("/api/v1/organisations/x/people"));
        assert!(!offers_csv("/api/v1/organisations/x"));
        assert!(offers_csv("/api/v1/agreements/usage"));
        assert!(offers_csv("/api/v1/agreements/x/usage"));
        assert!(offers_csv("/api/v1/agreements/x/allocations"));
        assert!(offers_csv("/api/v1/allocations"));
        assert!(!offers_csv("/api/v1/allocations/x"));
        assert!(offers_csv("/api/v1/meetings/x/registrations"));
        assert!(!offers_csv("/api/v1/meetings/x"));
    }
}
