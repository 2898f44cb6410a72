//! The two small pages the e-mailed links open: accept an invitation, choose a new password.
//! They hold no data of their own: the token stays in the URL path, the page calls the API.

use actix_web::http::header;
use actix_web::{HttpResponse, get};

fn page(html: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
        ))
        .body(html)
}

/// The page behind an invitation link.
#[get("/invitations/{token}")]
pub async fn accept_invitation_page() -> HttpResponse {
    page(include_str!("accept-invitation.html"))
}

/// The page behind a password-reset link.
#[get("/password-reset/{token}")]
pub async fn reset_password_page() -> HttpResponse {
    page(include_str!("reset-password.html"))
}
