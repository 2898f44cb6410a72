use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::AuditEvent;
use super::repo::{self, AuditFilter};
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, Problem};
use crate::http::{Page, PageRequest, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `organisation`, `membership_change`, `person`, `user`, `api_token`, …
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    /// A user id: their own changes and those made with their API tokens.
    pub actor_id: Option<String>,
    /// e.g. `organisation.updated`.
    pub action: Option<String>,
    pub request_id: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// List audit events
///
/// Who did what to which record, newest first. Admins only.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    security(("bearer" = []), ("api_token" = [Scope::AuditRead])),
    responses(
        (status = 200, description = "A page of events", body = Page<AuditEvent>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let page = PageRequest::new("audit-events", q.limit, q.cursor.as_deref(), 1)?;
    let filter = AuditFilter {
        record_type: q.record_type,
        record_id: q.record_id,
        actor_id: q.actor_id,
        action: q.action,
        request_id: q.request_id,
        since: q.since.map(|t| t.naive_utc()),
        until: q.until.map(|t| t.naive_utc()),
    };
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_admin(Scope::AuditRead)?;
            repo::list(conn, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit_events);
}
