//! The small pages the e-mailed links open: accept an invitation, choose a new password, answer
//! a meeting invitation, cancel an open-event registration, answer a scheduling poll.
//! They hold no data of their own: the token stays in the URL path, the page calls the API.
//! Each is served in its recipient's language (the invitation's, or the account's for a reset),
//! or in the one `?lang=nb|en` asks for; each links to the other language.

use std::collections::BTreeMap;
use std::sync::OnceLock;

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
    of_token: impl FnOnce(&mut crate::db::DbConn, &str) -> Option<Language> + Send + 'static,
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

/// The two pages in both languages, rendered once from `layout.html`, the page's template and
/// `texts.toml`.
struct Rendered {
    invitation: [String; 2],
    reset: [String; 2],
    meeting_answer: [String; 2],
    event_cancel: [String; 2],
    poll_answer: [String; 2],
}

fn rendered() -> Result<&'static Rendered, &'static str> {
    static PAGES: OnceLock<Result<Rendered, String>> = OnceLock::new();
    PAGES
        .get_or_init(|| {
            let texts: toml::Table = include_str!("texts.toml")
                .parse()
                .map_err(|e| format!("texts.toml: {e}"))?;
            let both = |name, template| -> Result<[String; 2], String> {
                Ok([
                    render(&texts, name, template, Language::En)?,
                    render(&texts, name, template, Language::Nb)?,
                ])
            };
            Ok(Rendered {
                invitation: both("accept-invitation", include_str!("accept-invitation.html"))?,
                reset: both("reset-password", include_str!("reset-password.html"))?,
                meeting_answer: both("meeting-answer", include_str!("meeting-answer.html"))?,
                event_cancel: both("event-cancel", include_str!("event-cancel.html"))?,
                poll_answer: both("poll-answer", include_str!("poll-answer.html"))?,
            })
        })
        .as_ref()
        .map_err(String::as_str)
}

/// Renders a page in `lang`: its template (which extends `layout.html`) with `t`, the page's
/// texts and the language's shared ones.
fn render(
    texts: &toml::Table,
    name: &str,
    template: &str,
    lang: Language,
) -> Result<String, String> {
    let of_lang = texts
        .get(lang.as_str())
        .and_then(toml::Value::as_table)
        .ok_or_else(|| format!("texts.toml has no [{lang}]"))?;
    let mut t: BTreeMap<&str, &toml::Value> = of_lang
        .iter()
        .filter(|(_, v)| !v.is_table())
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    if let Some(own) = of_lang.get(name).and_then(toml::Value::as_table) {
        t.extend(own.iter().map(|(k, v)| (k.as_str(), v)));
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template("layout.html", include_str!("layout.html"))
        .and_then(|()| env.add_template("page.html", template))
        .and_then(|()| env.get_template("page.html"))
        .and_then(|page| page.render(minijinja::context! { lang => lang.as_str(), t => t }))
        .map_err(|e| format!("{name} ({lang}): {e}"))
}

fn page(html: &str) -> HttpResponse {
    let html = html.to_owned();
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
    let lang = language(&req, &state, token.into_inner(), of_token).await;
    match rendered() {
        Ok(pages) => page(&pages.invitation[usize::from(lang == Language::Nb)]),
        Err(e) => HttpResponse::from_error(crate::error::ApiError::internal(e)),
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
    let lang = language(&req, &state, token.into_inner(), of_token).await;
    match rendered() {
        Ok(pages) => page(&pages.reset[usize::from(lang == Language::Nb)]),
        Err(e) => HttpResponse::from_error(crate::error::ApiError::internal(e)),
    }
}

/// The token in `?token=`.
fn query_token(req: &HttpRequest) -> String {
    req.query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .unwrap_or("")
        .to_owned()
}

/// The page behind an open-event registration's cancel link (`?token=…`): in the
/// registration's language (or the one `?lang=` asks for), it shows the event and the
/// registration, and cancels it when asked.
#[get("/events/cancel")]
pub async fn event_cancel_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    mailer: web::Data<crate::notifications::Mailer>,
) -> HttpResponse {
    let of_token = move |conn: &mut crate::db::DbConn, token: &str| {
        crate::meetings::events::repo::language_of_token(conn, &mailer, token)
    };
    let lang = language(&req, &state, query_token(&req), of_token).await;
    match rendered() {
        Ok(pages) => page(&pages.event_cancel[usize::from(lang == Language::Nb)]),
        Err(e) => HttpResponse::from_error(crate::error::ApiError::internal(e)),
    }
}

/// The page behind a meeting invitation's answer links (`?token=…&response=…`): in the
/// meeting's language (or the one `?lang=` asks for), it shows the meeting, records the answer the
/// link names and offers the other two.
#[get("/meetings/answer")]
pub async fn meeting_answer_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    mailer: web::Data<crate::notifications::Mailer>,
) -> HttpResponse {
    let of_token = move |conn: &mut crate::db::DbConn, token: &str| {
        crate::meetings::answers::language(conn, &mailer, token)
    };
    let lang = language(&req, &state, query_token(&req), of_token).await;
    match rendered() {
        Ok(pages) => page(&pages.meeting_answer[usize::from(lang == Language::Nb)]),
        Err(e) => HttpResponse::from_error(crate::error::ApiError::internal(e)),
    }
}

/// The page behind a scheduling poll's answer link (`?token=…`): in the poll's language (or the
/// one `?lang=` asks for), it shows the proposed times with the tally and the participant's
/// answers, and saves their yes / if need be / no for each.
#[get("/polls/answer")]
pub async fn poll_answer_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    mailer: web::Data<crate::notifications::Mailer>,
) -> HttpResponse {
    let of_token = move |conn: &mut crate::db::DbConn, token: &str| {
        crate::polls::repo::language_of_link(conn, &mailer, token)
    };
    let lang = language(&req, &state, query_token(&req), of_token).await;
    match rendered() {
        Ok(pages) => page(&pages.poll_answer[usize::from(lang == Language::Nb)]),
        Err(e) => HttpResponse::from_error(crate::error::ApiError::internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_pages_render_in_both_languages_with_every_text() {
        let pages = rendered().unwrap();
        for html in pages.invitation.iter().chain(&pages.reset) {
            assert!(!html.contains("{{"), "a placeholder is left: {html}");
            assert!(html.starts_with("<!DOCTYPE html>"));
        }
        assert!(pages.invitation[1].contains("<html lang=\"nb\">"));
        assert!(pages.invitation[1].contains("Opprett kontoen min"));
        assert!(pages.reset[0].contains("Save the new password"));
        assert!(pages.reset[0].contains("href=\"?lang=nb\""));
        for html in &pages.meeting_answer {
            assert!(!html.contains("{{"), "a placeholder is left: {html}");
        }
        assert!(pages.meeting_answer[1].contains("Godta"));
        assert!(pages.meeting_answer[0].contains("Tentative"));
        for html in &pages.event_cancel {
            assert!(!html.contains("{{"), "a placeholder is left: {html}");
        }
        assert!(pages.event_cancel[1].contains("Meld meg av"));
        assert!(pages.event_cancel[0].contains("Cancel my registration"));
        for html in &pages.poll_answer {
            assert!(!html.contains("{{"), "a placeholder is left: {html}");
        }
        assert!(pages.poll_answer[1].contains("Om nødvendig"));
        assert!(pages.poll_answer[0].contains("Save my answers"));
    }
}
