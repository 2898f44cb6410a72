//! `/api/v1/notifications` and `/api/v1/me/notification-preferences`.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{Kind, Notification, NotificationPreferences, State};
use super::repo::{self, NotificationFilter};
use crate::audit;
use crate::auth::policy;
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{Json, Page, PageRequest, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub state: Option<State>,
    pub kind: Option<Kind>,
    /// Admins: the recipient's e-mail address.
    pub recipient: Option<String>,
    /// Created at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Created before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List notifications
///
/// E-mails and their delivery state, newest first: admins see all, everyone else their own.
#[utoipa::path(
    tag = "notifications",
    params(NotificationQuery),
    security(("bearer" = []), ("api_token" = [Scope::UsersRead])),
    responses((status = 200, description = "A page of notifications", body = Page<Notification>))
)]
#[get("/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new("notifications", q.limit, q.cursor.as_deref(), 1)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::UsersRead)?;
            let filter = NotificationFilter {
                user_id: policy::notification_recipients(caller),
                state: q.state,
                kind: q.kind,
                recipient: policy::notification_recipient_filter(caller, q.recipient),
                since: q.since.map(|t| t.naive_utc()),
                until: q.until.map(|t| t.naive_utc()),
            };
            repo::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Get a notification
#[utoipa::path(
    tag = "notifications",
    params(("id" = uuid::Uuid, Path, description = "Notification id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersRead])),
    responses(
        (status = 200, description = "The notification", body = Notification),
        (status = 404, description = "No such notification of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications/{id}")]
pub async fn get_notification(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let found = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::UsersRead)?;
            let found = repo::find(conn, &id)?;
            policy::see_notification(caller, found.recipient_user_id.as_deref())?;
            Ok(found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Retry a failed notification
///
/// Admins only: puts a failed message back in the queue with a fresh set of attempts.
#[utoipa::path(
    tag = "notifications",
    params(("id" = uuid::Uuid, Path, description = "Notification id")),
    security(("bearer" = []), ("api_token" = [Scope::UsersWrite])),
    responses(
        (status = 200, description = "Queued again", body = Notification),
        (status = 404, description = "No such notification", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not in the failed state", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/{id}/retry")]
pub async fn retry_notification(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let n = auth
        .write(&state.db, move |conn, caller| {
            caller.require_admin(Scope::UsersWrite)?;
            let n = repo::retry(conn, &id)?;
            audit::record(
                conn,
                &caller.actor(),
                "notification.retried",
                "notification",
                &id,
                serde_json::json!({"state": {"from": "failed", "to": "pending"}}),
            )?;
            Ok(n)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Ok().json(n))
}

/// My notification preferences
///
/// The language of your e-mails and which optional messages you receive. Security messages
/// (invitation, password reset, password or role changed) always go. A login session's only: API
/// tokens get 403.
#[utoipa::path(
    tag = "me",
    security(("bearer" = [])),
    responses((status = 200, description = "Your preferences", body = NotificationPreferences))
)]
#[get("/me/notification-preferences")]
pub async fn get_preferences(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let p = auth
        .read(&state.db, move |conn, caller| {
            policy::session_only(caller)?;
            repo::preferences(conn, &caller.user_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Set my notification preferences
#[utoipa::path(
    tag = "me",
    request_body = NotificationPreferences,
    security(("bearer" = [])),
    responses((status = 200, description = "Saved", body = NotificationPreferences))
)]
#[put("/me/notification-preferences")]
pub async fn put_preferences(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<NotificationPreferences>,
) -> Result<HttpResponse, ApiError> {
    let p = body.into_inner();
    let saved = auth
        .write(&state.db, move |conn, caller| {
            policy::session_only(caller)?;
            let before = repo::preferences(conn, &caller.user_id)?;
            if before == p {
                // Nothing changes: nothing is written, no audit event.
                return Ok(before);
            }
            repo::set_preferences(conn, &caller.user_id, &p)?;
            let after = repo::preferences(conn, &caller.user_id)?;
            let changes = audit::diff(
                Some(&serde_json::json!(before)),
                Some(&serde_json::json!(after)),
            );
            audit::record(
                conn,
                &caller.actor(),
                "user.preferences_changed",
                "user",
                &caller.user_id,
                changes,
            )?;
            Ok(after)
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notifications)
        .service(get_notification)
        .service(retry_notification)
        .service(get_preferences)
        .service(put_preferences);
}
