//! `/api/v1/meetings/{id}/...`: a meeting's agenda, minutes, attendance, decisions and action
//! items; `/api/v1/me/action-items`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    ActionItem, ActionItemStatus, ActionItems, Agenda, AgendaItem, ApproveMinutes,
    AttendanceReport, CreateActionItem, CreateAgendaItem, Minutes, PutMinutes, SetAttendance,
    UpdateActionItem, UpdateAgendaItem,
};
use super::repo::{self, MyActionItemsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::decisions::model::Decision;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::state::AppState;

// ---- Agenda ----------------------------------------------------------------------------------

/// A meeting's agenda
///
/// The items in order (positions 1 to n), with the sum of their durations (`total_minutes`)
/// against the meeting's length, and whether they overrun it. For whoever sees the meeting.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The agenda", body = Agenda),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/agenda-items")]
pub async fn list_agenda_items(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let agenda = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::agenda(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(agenda))
}

/// Add an agenda item
///
/// Those who manage the meeting. At `position` (1 to n + 1; the items from there on move down
/// one), at the end when absent. The presenter is a person (`presenter_person_id`) or a name;
/// at most 20 `documents`, each an http(s) URL with a title; `decision_id` a decision of the
/// meeting's body. Not on a cancelled meeting (409).
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = CreateAgendaItem,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "Added", body = AgendaItem,
            headers(("Location" = String, description = "The new item"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only those who manage the meeting change its agenda", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A position out of range, a document that is no http(s) URL or more than 20, both a presenter person and name, or a decision of another body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/agenda-items")]
pub async fn add_agenda_item(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateAgendaItem>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let item_id = Id::new();
    let item = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::add_agenda_item(conn, caller, &id, item_id, req)
        })
        .await?;
    Ok(created(
        format!(
            "/api/v1/meetings/{}/agenda-items/{}",
            item.meeting_id, item.id
        ),
        item.version,
        &item,
    ))
}

/// Get an agenda item
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("item_id" = uuid::Uuid, Path, description = "Agenda item id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The item", body = AgendaItem, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such meeting or item, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/agenda-items/{item_id}")]
pub async fn get_agenda_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let (id, item_id) = (Id::from(id), Id::from(item_id));
    let item = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::agenda_item(conn, caller, &id, &item_id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, item.version, &item))
}

/// Update an agenda item
///
/// With `If-Match`. A new `position` (1 to n) moves the item; the others close up, so the
/// positions stay 1 to n.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("item_id" = uuid::Uuid, Path, description = "Agenda item id"),
    ),
    request_body = UpdateAgendaItem,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Updated", body = AgendaItem, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only those who manage the meeting change its agenda", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or item, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A position out of range, or a field that is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/meetings/{id}/agenda-items/{item_id}")]
pub async fn update_agenda_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<UpdateAgendaItem>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let (id, item_id) = (Id::from(id), Id::from(item_id));
    let patch = body.into_inner();
    let item = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::update_agenda_item(conn, caller, &id, &item_id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, item.version, &item))
}

/// Remove an agenda item
///
/// With `If-Match`. The items after it move up one.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("item_id" = uuid::Uuid, Path, description = "Agenda item id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only those who manage the meeting change its agenda", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or item, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/meetings/{id}/agenda-items/{item_id}")]
pub async fn remove_agenda_item(
    state: web::Data<AppState>,
    auth: Auth,
    if_match: IfMatch,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let (id, item_id) = (Id::from(id), Id::from(item_id));
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::MeetingsWrite)?;
        repo::remove_agenda_item(conn, caller, &id, &item_id, &if_match)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- Minutes ---------------------------------------------------------------------------------

/// A meeting's minutes
///
/// For whoever sees the meeting; 404 until they are drafted.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The minutes", body = Minutes, headers(("ETag" = String, description = "Their version"))),
        (status = 404, description = "No such meeting or no minutes yet, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/minutes")]
pub async fn get_minutes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let minutes = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::minutes(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, minutes.version, &minutes))
}

/// Draft or replace the minutes
///
/// Those who manage the meeting (the secretariat; the body's chair, co-chair or secretary), once
/// the meeting has started or was held (409 before). The first draft is created (201); later
/// ones replace it and need `If-Match`. Approved minutes are read-only (409).
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("If-Match" = Option<String>, Header, description = "The minutes' `ETag`: required once they exist"),
    ),
    request_body = PutMinutes,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Replaced", body = Minutes, headers(("ETag" = String, description = "The new version"))),
        (status = 201, description = "Drafted", body = Minutes,
            headers(("Location" = String, description = "The minutes"), ("ETag" = String, description = "Their version"))),
        (status = 403, description = "Only those who manage the meeting draft its minutes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The minutes are approved, the meeting is cancelled or has not started", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The minutes changed since you read them", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "The minutes exist: If-Match is needed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/meetings/{id}/minutes")]
pub async fn put_minutes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: Option<IfMatch>,
    body: Json<PutMinutes>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let (minutes, new) = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::put_minutes(conn, caller, &id, if_match.as_ref(), req)
        })
        .await?;
    Ok(if new {
        created(
            format!("/api/v1/meetings/{}/minutes", minutes.meeting_id),
            minutes.version,
            &minutes,
        )
    } else {
        versioned(StatusCode::OK, minutes.version, &minutes)
    })
}

/// Approve the minutes
///
/// For the body: its chair or co-chair, or the secretariat (an open event's: the secretariat).
/// The secretary drafts; the chair approves. `decision_id` cites the body's adopted decision
/// approving them. From then on they are read-only: every change answers 409.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = ApproveMinutes,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Approved", body = Minutes, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only the secretariat or the body's chair or co-chair approve minutes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or no minutes yet, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The minutes are already approved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The decision is not an adopted decision of the meeting's body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/minutes/approve")]
pub async fn approve_minutes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<ApproveMinutes>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let minutes = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::approve_minutes(conn, caller, &id, req)
        })
        .await?;
    Ok(versioned(StatusCode::OK, minutes.version, &minutes))
}

// ---- Attendance ------------------------------------------------------------------------------

/// A meeting's attendance and quorum
///
/// Each invitee's attendance, the counts, and for a body's meeting the quorum by the body's
/// rules on the meeting's day: the body's voting members (seats that vote, their organisations
/// partners), the quorum needed (`ceil(quorum_percent × voting members / 100)`), the voting
/// members present and whether the quorum was reached. An open event: counts only, `quorum`
/// null.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The attendance", body = AttendanceReport),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/attendance")]
pub async fn get_attendance(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let report = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::attendance(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Record attendance
///
/// Those who manage the meeting, once it has started (409 before, and on a cancelled meeting).
/// Invitees not listed keep what they had. Mark the meeting held with `PATCH` `status: held`.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = SetAttendance,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "The attendance as recorded", body = AttendanceReport),
        (status = 403, description = "Only those who manage the meeting record attendance", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting has not started, or is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such invitee of this meeting", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/meetings/{id}/attendance")]
pub async fn set_attendance(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<SetAttendance>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let report = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::set_attendance(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

// ---- Decisions -------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Decisions proposed at a meeting
///
/// Those proposed with this `meeting_id`, in the order they were proposed, as decisions are
/// seen: by the body's members and the secretariat (other invitees: an empty list).
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id"), PageQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of decisions", body = Page<Decision>),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/decisions")]
pub async fn list_meeting_decisions(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let page = PageRequest::new(
        format!("meetings/{id}/decisions"),
        query.limit,
        query.cursor.as_deref(),
        1,
    )?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::decisions(conn, caller, &id, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

// ---- Action items ----------------------------------------------------------------------------

/// A meeting's action items
///
/// By due date, for whoever sees the meeting.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The action items", body = ActionItems),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/action-items")]
pub async fn list_action_items(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let items = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::action_items(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// Give an action item
///
/// Those who manage the meeting. The owner is an invitee of the meeting or a member of its body;
/// `agenda_item_id` an item of this meeting's agenda. The owner is reminded once, when it is due
/// today or tomorrow (unless they turned `action_item_due` off). Not on a cancelled meeting.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = CreateActionItem,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "Given", body = ActionItem,
            headers(("Location" = String, description = "The new item"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only those who manage the meeting give action items", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An owner who is neither invited nor a member of the body, or an agenda item of another meeting", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/action-items")]
pub async fn create_action_item(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CreateActionItem>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let item_id = Id::new();
    let item = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::create_action_item(conn, caller, &id, item_id, req)
        })
        .await?;
    Ok(created(
        format!(
            "/api/v1/meetings/{}/action-items/{}",
            item.meeting_id, item.id
        ),
        item.version,
        &item,
    ))
}

/// Get an action item
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("item_id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The action item", body = ActionItem, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such meeting or item, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/action-items/{item_id}")]
pub async fn get_action_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let (id, item_id) = (Id::from(id), Id::from(item_id));
    let item = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::action_item(conn, caller, &id, &item_id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, item.version, &item))
}

/// Update an action item
///
/// With `If-Match`. Those who manage the meeting change any field (`status: dropped` when it is
/// no longer needed; items are never deleted); the owner only `status`, between `open` and
/// `done`. A new due date is reminded again.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("item_id" = uuid::Uuid, Path, description = "Action item id"),
    ),
    request_body = UpdateActionItem,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Updated", body = ActionItem, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Neither managing the meeting nor the item's owner, or an owner changing more than the status", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or item, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field that is not valid", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/meetings/{id}/action-items/{item_id}")]
pub async fn update_action_item(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: Json<UpdateActionItem>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    let (id, item_id) = (Id::from(id), Id::from(item_id));
    let patch = body.into_inner();
    let item = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::update_action_item(conn, caller, &id, &item_id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, item.version, &item))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MyActionItemsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `open` when absent.
    pub status: Option<ActionItemStatus>,
    /// Items due before this day (`YYYY-MM-DD`).
    pub due_before: Option<NaiveDate>,
}

/// My action items
///
/// The action items of the person your account is linked to, by due date (none when it is
/// linked to no person); `open` ones unless `status` says otherwise.
#[utoipa::path(
    tag = "me",
    params(MyActionItemsQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of your action items", body = Page<ActionItem>),
    )
)]
#[get("/me/action-items")]
pub async fn my_action_items(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<MyActionItemsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = MyActionItemsFilter {
        status: query.status,
        due_before: query.due_before,
    };
    let page = PageRequest::new("me/action-items", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::my_action_items(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_action_items)
        .service(list_agenda_items)
        .service(add_agenda_item)
        .service(get_agenda_item)
        .service(update_agenda_item)
        .service(remove_agenda_item)
        .service(get_minutes)
        .service(put_minutes)
        .service(approve_minutes)
        .service(get_attendance)
        .service(set_attendance)
        .service(list_meeting_decisions)
        .service(list_action_items)
        .service(create_action_item)
        .service(get_action_item)
        .service(update_action_item);
}
