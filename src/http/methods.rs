//! HTTP methods, answered at the root of the app, before and after routing:
//!
//! - a method the service implements for no resource (`XABC`, `TRACE`, `OPTIONS`, …) answers
//!   501 `not-implemented` whatever the path, so no route (a redirect, the docs) answers it;
//! - `HEAD` is answered as `GET` without the body (the server drops it);
//! - a method a known path does not take answers 405 `method-not-allowed` with `Allow` listing
//!   those it does ([`Routes`], from the spec); a path no route has answers 404.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::ApiError;

/// The methods some resource of the service takes.
pub const IMPLEMENTED: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// The middleware: 501 for methods no resource takes, `HEAD` served as `GET`.
pub async fn methods(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !IMPLEMENTED.contains(req.method()) {
        let e = ApiError::NotImplemented(format!(
            "the method {} is not implemented here; the service takes GET, HEAD, POST, PUT, \
             PATCH and DELETE",
            req.method().as_str().chars().take(32).collect::<String>()
        ));
        return Ok(req.into_response(e.error_response()));
    }
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Every route's path pattern and the methods it takes.
#[derive(Debug, Default)]
pub struct Routes(Vec<(ResourceDef, Vec<Method>)>);

impl Routes {
    /// From `(pattern, methods)` pairs, patterns as actix writes them (`/api/v1/people/{id}`).
    pub fn new(routes: impl IntoIterator<Item = (String, Vec<Method>)>) -> Self {
        Self(
            routes
                .into_iter()
                .map(|(pattern, methods)| (ResourceDef::new(pattern), methods))
                .collect(),
        )
    }

    /// The methods `path` takes, in [`IMPLEMENTED`] order (`HEAD` wherever `GET` is); empty for a
    /// path no route has.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut taken: Vec<&Method> = self
            .0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .flat_map(|(_, methods)| methods)
            .collect();
        if taken.contains(&&Method::GET) {
            taken.push(&Method::HEAD);
        }
        IMPLEMENTED
            .iter()
            .filter(|m| taken.contains(m))
            .cloned()
            .collect()
    }
}

/// The app's default service: 405 with `Allow` when the path is known, 404 otherwise.
pub async fn not_routed(req: HttpRequest, routes: Option<web::Data<Routes>>) -> HttpResponse {
    let allowed = routes.map(|r| r.allowed(req.path())).unwrap_or_default();
    if allowed.is_empty() {
        return ApiError::NotFound.error_response();
    }
    ApiError::MethodNotAllowed {
        method: req.method().as_str().to_owned(),
        allow: allowed.iter().map(|m| m.as_str().to_owned()).collect(),
    }
    .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_methods_come_from_every_matching_pattern() {
        let routes = Routes::new([
            ("/a".to_owned(), vec![Method::GET, Method::POST]),
            ("/a/{id}".to_owned(), vec![Method::PATCH]),
            ("/a/{id}".to_owned(), vec![Method::GET, Method::DELETE]),
        ]);
        assert_eq!(
            routes.allowed("/a"),
            [Method::GET, Method::HEAD, Method::POST]
        );
        assert_eq!(
            routes.allowed("/a/1"),
            [Method::GET, Method::HEAD, Method::PATCH, Method::DELETE]
        );
        assert!(routes.allowed("/b").is_empty());
        assert!(routes.allowed("/a/1/2").is_empty());
    }
}
