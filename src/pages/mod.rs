//! The two small pages the e-mailed links open: accept an invitation, choose a new password.
//! They hold no data of their own: the token stays in the URL path, the page calls the API.
//! Each is served in its recipient's language (the invitation's, or the account's for a reset),
//! or in the one `?lang=nb|en` asks for; each links to the other language.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::notifications::Language;
use crate::state::AppState;

/// The language asked for with `?lang=`, if it is one the pages are written in.
fn asked_language(req: &HttpRequest) -> Option<Language> {
    req.query_string()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("lang="))
        .find_map(|v| v.parse::<Language>().ok())
}

/// The page's language: asked for, else the token's own, else English (an unknown token's page
/// only says the link is invalid).
async fn language(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    of_token: fn(&mut crate::db::DbConn, &str) -> Option<Language>,
) -> Language {
    if let Some(asked) = asked_language(req) {
        return asked;
    }
    state
        .db
        .read(move |conn| Ok(of_token(conn, &token)))
        .await
        .ok()
        .flatten()
        .unwrap_or(Language::En)
}

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
pub async fn accept_invitation_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let of_token = |conn: &mut crate::db::DbConn, token: &str| {
        crate::invitations::repo::open_by_token(conn, token)
            .ok()
            .map(|i| i.language)
    };
    match language(&req, &state, token.into_inner(), of_token).await {
        Language::Nb => page(include_str!("accept-invitation.nb.html")),
        Language::En => page(include_str!("accept-invitation.html")),
    }
}

/// The page behind a password-reset link.
#[get("/password-reset/{token}")]
pub async fn reset_password_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let of_token = |conn: &mut crate::db::DbConn, token: &str| {
        crate::accounts::reset::open_token(conn, token)
            .ok()
            .and_then(|a| a.language.parse().ok())
    };
    match language(&req, &state, token.into_inner(), of_token).await {
        Language::Nb => page(include_str!("reset-password.nb.html")),
        Language::En => page(include_str!("reset-password.html")),
    }
}
