//! HTTP handlers for calendar feeds.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use super::model::{CalendarFeed, CreatedFeed};
use super::repo;
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, Problem};
use crate::meetings::ics::{self, Organizer};
use crate::notifications::Mailer;
use crate::state::AppState;

/// Create or rotate your calendar feed
///
/// For an account linked to a person. Revokes the feed before, if any; the URL holds the secret,
/// shown only now: subscribe to it in Outlook, Google Calendar or Apple Calendar.
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 201, description = "The feed's URL", body = CreatedFeed,
            headers(("Location" = String, description = "The feed's status"))),
        (status = 403, description = "Your account is linked to no person", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/calendar-feed")]
pub async fn create_feed(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
) -> Result<HttpResponse, ApiError> {
    let (secret, created_at) = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::create(conn, caller)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/v1/me/calendar-feed"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(CreatedFeed {
            url: mailer.link(&format!("/api/v1/calendar/{secret}.ics")),
            created_at: created_at.and_utc(),
        }))
}

/// Your calendar feed
///
/// Whether you have one, since when, and when a calendar app last fetched it; never its secret.
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The feed's status", body = CalendarFeed),
        (status = 403, description = "Your account is linked to no person", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/calendar-feed")]
pub async fn get_feed(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let feed = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::get(conn, caller)
        })
        .await?;
    Ok(HttpResponse::Ok().json(feed))
}

/// Revoke your calendar feed
///
/// Its URL stops working at once.
#[utoipa::path(
    tag = "calendar",
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Your account is linked to no person", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "You have no feed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/calendar-feed")]
pub async fn delete_feed(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::MeetingsRead)?;
        repo::revoke(conn, caller)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A calendar feed
///
/// No authentication: the secret in the URL is the credential. Every meeting the feed's person
/// is invited to (with their answer as PARTSTAT; cancelled ones as STATUS:CANCELLED), series in
/// their zone with their occurrences changed alone. A strong `ETag`; `If-None-Match` answers 304.
#[utoipa::path(
    tag = "calendar",
    params(("feed_token" = String, Path, description = "The secret from the feed's URL")),
    responses(
        (status = 200, description = "The calendar", body = String, content_type = "text/calendar",
            headers(("ETag" = String, description = "The calendar's version"))),
        (status = 304, description = "Not changed since the ETag given"),
        (status = 404, description = "Unknown or revoked feed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/calendar/{feed_token}.ics")]
pub async fn calendar_feed(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    feed_token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let secret = feed_token.into_inner();
    let mut feed = state.db.read(move |conn| repo::feed(conn, &secret)).await?;
    if let Some(id) = feed.touch.take() {
        state.db.write(move |conn| repo::touch(conn, &id)).await?;
    }
    let name = mailer.from.name.clone().unwrap_or_else(|| "CONNECT".into());
    let email = mailer.from.email.to_string();
    let etag = feed.fingerprint(&format!("{name}\0{email}"));
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::http::conditional::none_match(v, &etag));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"));
    if matches {
        return Ok(res.finish());
    }
    let events: Vec<(
        &crate::meetings::model::Meeting,
        &[crate::meetings::repo::InviteeRow],
    )> = feed
        .meetings
        .iter()
        .map(|(m, i)| (m, i.as_slice()))
        .collect();
    let body = ics::render_many(
        &events,
        &Organizer {
            name: &name,
            email: &email,
        },
        "PUBLISH",
        feed.changed.and_utc(),
    );
    Ok(res.content_type("text/calendar; charset=utf-8").body(body))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_feed)
        .service(get_feed)
        .service(delete_feed)
        .service(calendar_feed);
}
