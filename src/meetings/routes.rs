//! `/api/v1/meetings`: meetings, their invitees, answers and calendar files.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::answers::{self, AnswerByLink, LinkAnswer};
use super::events::repo::fill_places;
use super::ics::{self, Organizer};
use super::model::{
    AddInvitee, Answer, CancelMeeting, CreateMeeting, Invitee, Invitees, Meeting, MeetingKind,
    MeetingStatus, UpdateMeeting,
};
use super::repo::{self, InviteeRow, MeetingsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::notifications::links::{Access, through_link};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeetingsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub body_id: Option<Id>,
    /// Meetings ending after this instant (RFC 3339, e.g. `2027-03-01T00:00:00Z`).
    pub from: Option<DateTime<Utc>>,
    /// Meetings starting before this instant.
    pub to: Option<DateTime<Utc>>,
    pub status: Option<MeetingStatus>,
    pub kind: Option<MeetingKind>,
}

/// List meetings
///
/// By start time. The secretariat sees every meeting; others the meetings they are invited to,
/// those of the bodies they sit in today, and (members of the consortium) open events. `from` and
/// `to` keep the meetings overlapping that range. With both, a series is listed as its
/// occurrences overlapping the range: computed ones carry the master's `id`, `series_id` the
/// master and `occurrence_of` their start; those changed alone are their own meetings (moved, or
/// `cancelled` so calendars strike them); `status` filters them like others. At most 2000
/// occurrences are computed per series and request (page on with `cursor`). Without a range
/// (or with one end only) a series is listed once, as its master.
#[utoipa::path(
    tag = "meetings",
    params(MeetingsQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of meetings", body = Page<Meeting>),
    )
)]
#[get("/meetings")]
pub async fn list_meetings(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<MeetingsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = MeetingsFilter {
        body_id: query.body_id.clone(),
        from: query.from.map(|t| t.naive_utc()),
        to: query.to.map(|t| t.naive_utc()),
        status: query.status,
        kind: query.kind,
    };
    let page = PageRequest::new("meetings", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Schedule a meeting
///
/// A body's meeting (`body_id`): the secretariat or the body's chair, co-chair or secretary; an
/// open event (`kind: open_event`): the secretariat. `start` and `end` are local times in
/// `time_zone` (an IANA zone, `Europe/Oslo` when absent), stored in UTC: a local time the clocks
/// skip (spring forward) is refused with 422; one they pass twice (fall back) is taken at its
/// first, earlier occurrence. The body's members today are invited unless `invite_members` is
/// false. The answer lists in `conflicts` the invitees who already accepted another meeting at
/// an overlapping time.
#[utoipa::path(
    tag = "meetings",
    request_body = CreateMeeting,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "Scheduled", body = Meeting,
            headers(("Location" = String, description = "The new meeting"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary schedule its meetings; only the secretariat open events", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such body, an unknown time zone, a local time that does not exist, or an end before the start", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings")]
pub async fn create_meeting(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    body: Json<CreateMeeting>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let id = Id::new();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::create(conn, caller, &mailer, id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(created(
        format!("/api/v1/meetings/{}", meeting.id),
        meeting.version,
        &meeting,
    ))
}

/// Get a meeting
///
/// In UTC (`starts_at`, `ends_at`) and as local times in its zone (`local_start`, `local_end`),
/// with the caller's own answer when invited.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The meeting", body = Meeting, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}")]
pub async fn get_meeting(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let meeting = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::get(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, meeting.version, &meeting))
}

/// Update a meeting
///
/// With `If-Match`. Local `start`/`end` are read in the (new) `time_zone`; a new `start` alone
/// keeps the duration; a new `time_zone` alone keeps the instants. A change of time or place
/// raises the iCalendar `sequence`. `status` may become `held` (and `scheduled` again), or
/// `cancelled` (as `/cancel`). A cancelled meeting is not edited (409).
///
/// A series' master changes its future occurrences only: while its first occurrence is ahead,
/// in place (`rrule` may change too); once under way, the series is split at its next
/// occurrence: the old master's rule ends before it (its past stays), and a new master (new id
/// and UID, the invitees and their answers copied) starts there with the changes. The answer is
/// then the new master, with a `Location` header naming it. Occurrences changed alone from the
/// split on move to the new series when their original start is still one of its occurrences,
/// and are cancelled otherwise (kept, with any agenda or minutes they hold).
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = UpdateMeeting,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Updated (for a series under way: the new series' master)", body = Meeting, headers(("ETag" = String, description = "The new version"), ("Location" = String, description = "Only when a series was split: its new master"))),
        (status = 403, description = "Only those who manage the meeting edit it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled, or an open event's capacity below the registrations holding a place", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown time zone, a local time that does not exist, an end before the start, or a capacity on a body's meeting", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/meetings/{id}")]
pub async fn update_meeting(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateMeeting>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let asked = id.clone();
    let patch = body.into_inner();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            let capacity_changed = patch.capacity.is_some();
            let meeting = repo::update(conn, caller, &mailer, &asked, &if_match, patch)?;
            if capacity_changed && meeting.kind == MeetingKind::OpenEvent {
                // A raised or removed capacity moves the waiting list up at once.
                let updated = meeting.id.clone();
                if fill_places(conn, &mailer, &caller.actor(), &updated)? > 0 {
                    return repo::get(conn, caller, &updated);
                }
            }
            Ok(meeting)
        })
        .await?;
    state.wake_mailer();
    let mut res = versioned(StatusCode::OK, meeting.version, &meeting);
    if meeting.id.as_str() != id.as_str() {
        // A series under way was split: the answer is the new series' master.
        res.headers_mut().insert(
            actix_web::http::header::LOCATION,
            actix_web::http::header::HeaderValue::from_str(&format!(
                "/api/v1/meetings/{}",
                meeting.id
            ))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        );
    }
    Ok(res)
}

/// Cancel a meeting
///
/// Kept, with the reason; its `sequence` is raised so that calendars mark it cancelled. A series
/// whose first occurrence is ahead is cancelled whole; one under way ends from now: its rule ends
/// before the next occurrence (the past ones stay, the master stays `scheduled`) and the
/// occurrences changed alone from then on are cancelled.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = CancelMeeting,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Cancelled", body = Meeting, headers(("ETag" = String, description = "The new version"))),
        (status = 403, description = "Only those who manage the meeting cancel it", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is already cancelled or was held", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/cancel")]
pub async fn cancel_meeting(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    id: web::Path<Uuid>,
    body: Json<CancelMeeting>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::cancel(conn, caller, &mailer, &id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, meeting.version, &meeting))
}

/// List a meeting's invitees
///
/// People by name, then guests; a guest's e-mail address is shown to those who manage the
/// meeting only.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The invitees", body = Invitees),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/invitees")]
pub async fn list_invitees(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let invitees = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::invitees(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(invitees))
}

/// Invite someone
///
/// A person of the register (`person_id`) or a guest with no account (`name` and `email`). The
/// answer lists in `conflicts` the person's accepted meetings overlapping this one.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = AddInvitee,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "Invited", body = Invitee,
            headers(("Location" = String, description = "The new invitee"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "Only those who manage the meeting invite", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already invited, or the meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such person, or neither a person nor a guest's name and e-mail", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meetings/{id}/invitees")]
pub async fn add_invitee(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    id: web::Path<Uuid>,
    body: Json<AddInvitee>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let invitee_id = Id::new();
    let mailer = mailer.clone();
    let invitee = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::add_invitee(conn, caller, &mailer, &id, invitee_id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(created(
        format!(
            "/api/v1/meetings/{}/invitees/{}",
            invitee.meeting_id, invitee.id
        ),
        invitee.version,
        &invitee,
    ))
}

/// Get an invitee
///
/// For whoever sees the meeting; a guest's e-mail address for those who manage it only.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("invitee_id" = uuid::Uuid, Path, description = "Invitee id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The invitee", body = Invitee, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such meeting or invitee, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}/invitees/{invitee_id}")]
pub async fn get_invitee(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, invitee_id) = path.into_inner();
    let (id, invitee_id) = (Id::from(id), Id::from(invitee_id));
    let invitee = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::invitee(conn, caller, &id, &invitee_id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, invitee.version, &invitee))
}

/// Uninvite someone
///
/// With `If-Match`: the invitee's ETag.
#[utoipa::path(
    tag = "meetings",
    params(
        ("id" = uuid::Uuid, Path, description = "Meeting id"),
        ("invitee_id" = uuid::Uuid, Path, description = "Invitee id"),
    ),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 204, description = "Uninvited"),
        (status = 403, description = "Only those who manage the meeting uninvite", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or invitee, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/meetings/{id}/invitees/{invitee_id}")]
pub async fn remove_invitee(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    if_match: IfMatch,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, invitee_id) = path.into_inner();
    let (id, invitee_id) = (Id::from(id), Id::from(invitee_id));
    let mailer = mailer.clone();
    auth.write(&state.db, move |conn, caller| {
        caller.require_scope(Scope::MeetingsWrite)?;
        repo::remove_invitee(conn, caller, &mailer, &id, &invitee_id, &if_match)
    })
    .await?;
    state.wake_mailer();
    Ok(HttpResponse::NoContent().finish())
}

/// Answer an invitation
///
/// For a signed-in invitee (the person your account is linked to): `accepted`, `tentative` or
/// `declined` (`needs_action` takes the answer back). Seeing the meeting without being invited:
/// 403.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    request_body = Answer,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Your invitation, answered", body = Invitee),
        (status = 403, description = "You are not invited to this meeting", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/meetings/{id}/rsvp")]
pub async fn rsvp(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<Answer>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let invitee = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::answer(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Ok().json(invitee))
}

/// A meeting as an iCalendar file
///
/// `text/calendar` (RFC 5545, METHOD:PUBLISH): a VEVENT with its stable UID, SEQUENCE, times
/// in UTC, ORGANIZER, an ATTENDEE with PARTSTAT per invitee (guests for those who manage the
/// meeting only), STATUS CONFIRMED or CANCELLED, and a reminder a day before. A series' master
/// is written in its zone (`DTSTART;TZID=`, its RRULE and a VTIMEZONE), followed by a VEVENT
/// with a RECURRENCE-ID for each occurrence moved or cancelled alone. CRLF line ends, lines
/// folded at 75 octets.
#[utoipa::path(
    tag = "meetings",
    params(("id" = uuid::Uuid, Path, description = "Meeting id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The calendar", body = String, content_type = "text/calendar",
            example = json!("BEGIN:VCALENDAR\r\nPRODID:-//CONNECT//connect meetings//EN\r\nVERSION:2.0\r\n...\r\nEND:VCALENDAR\r\n")),
        (status = 404, description = "No such meeting, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meetings/{id}.ics")]
pub async fn meeting_ics(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let (meeting, invitees, overrides) = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            let (meeting, invitees, _) = repo::calendar(conn, caller, &id)?;
            // A series' master: its occurrences changed alone go along (RECURRENCE-ID).
            let overrides = match meeting.rrule {
                Some(_) => repo::series_overrides(conn, caller, &id)?,
                None => Vec::new(),
            };
            Ok((meeting, invitees, overrides))
        })
        .await?;
    let from = state
        .settings
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .ok();
    let (name, email) = match &from {
        Some(m) => (
            m.name.clone().unwrap_or_else(|| "CONNECT".into()),
            m.email.to_string(),
        ),
        None => ("CONNECT".into(), state.settings.mail_from.clone()),
    };
    let mut events: Vec<(&Meeting, &[InviteeRow])> = vec![(&meeting, invitees.as_slice())];
    events.extend(overrides.iter().map(|(m, i)| (m, i.as_slice())));
    let body = ics::render_many(
        &events,
        &Organizer {
            name: &name,
            email: &email,
        },
        "PUBLISH",
        Utc::now(),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"meeting-{}.ics\"", meeting.id),
        ))
        .body(body))
}

/// What an answer link is for
///
/// No authentication: the signed token from the invitation e-mail is the credential. Forged,
/// damaged, expired and other-meeting links, and those of invitees since removed, answer 404.
#[utoipa::path(
    tag = "meetings",
    params(("token" = String, Path, description = "The token from the answer link")),
    responses(
        (status = 200, description = "The meeting, when, the invitee and their answer", body = LinkAnswer),
        (status = 404, description = "Forged, expired or removed link", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/meeting-answers/{token}")]
pub async fn get_link_answer(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    through_link(&state, &mailer, &req, Access::Read, move |conn, mailer| {
        answers::get(conn, mailer, &token)
    })
    .await
}

/// Answer an invitation through its link
///
/// No authentication: the signed token from the invitation e-mail is the credential (a guest
/// without an account answers this way). Records the answer as `/rsvp` does, with the invitee
/// as the audit's actor.
#[utoipa::path(
    tag = "meetings",
    request_body = AnswerByLink,
    responses(
        (status = 200, description = "The answer recorded", body = LinkAnswer),
        (status = 404, description = "Forged, expired or removed link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The meeting is cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not accepted, tentative or declined", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/meeting-answers")]
pub async fn post_link_answer(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    body: Json<AnswerByLink>,
) -> Result<HttpResponse, ApiError> {
    let answer = body.into_inner();
    through_link(&state, &mailer, &req, Access::Write, move |conn, mailer| {
        answers::record(conn, mailer, answer)
    })
    .await
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // Literal paths before `/meetings/{id}`.
    cfg.service(super::series_routes::find_free_slots)
        .service(get_link_answer)
        .service(post_link_answer)
        .service(list_meetings)
        .service(create_meeting)
        .service(meeting_ics)
        .service(get_meeting)
        .service(update_meeting)
        .service(cancel_meeting)
        .service(list_invitees)
        .service(add_invitee)
        .service(get_invitee)
        .service(remove_invitee)
        .service(rsvp)
        .service(super::series_routes::list_occurrences)
        .service(super::series_routes::materialise_occurrence)
        .service(super::series_routes::update_occurrence)
        .service(super::series_routes::cancel_occurrence);
}
