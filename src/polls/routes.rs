//! `/api/v1/scheduling-polls` (finding a time: the organiser proposes slots, participants answer,
//! the chosen slot becomes a meeting) and `/api/v1/poll-answers/{token}` (public: a participant
//! answering through the link e-mailed to them).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CreatePoll, Poll, PollByLink, PollStatus, PollSummary, SchedulePoll, SetAnswers,
};
use super::repo::{self, PollsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{Json, Page, PageRequest, Query};
use crate::meetings::model::Meeting;
use crate::notifications::Mailer;
use crate::notifications::links::{Access, through_link};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PollsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `open`, `closed` (an open poll past its `closes_at` counts as closed) or `scheduled`.
    pub status: Option<PollStatus>,
    /// One body's polls.
    pub body_id: Option<Uuid>,
}

/// List scheduling polls
///
/// The polls the caller sees, oldest first: the secretariat all of them; anyone else those they
/// created, those they are asked in, and those of the bodies whose chair, co-chair or secretary
/// they are.
#[utoipa::path(
    tag = "scheduling-polls",
    params(PollsQuery),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "A page of polls", body = Page<PollSummary>),
    )
)]
#[get("/scheduling-polls")]
pub async fn list_polls(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<PollsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = PollsFilter {
        status: query.status,
        body_id: query.body_id.map(Id::from),
    };
    let page = PageRequest::new("scheduling-polls", query.limit, query.cursor.as_deref(), 2)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Create a scheduling poll
///
/// A body's poll (`body_id`): the secretariat or the body's chair, co-chair or secretary; a poll
/// without a body: the secretariat. Slots are local times in `time_zone` (an IANA zone,
/// `Europe/Oslo` when absent), stored in UTC: a local time the clocks skip is refused (422), one
/// they pass twice is taken at its first occurrence. 1 to 50 slots, in the future, each ending
/// after it starts, no two alike. Participants: `people` (ids), `guests` (name and e-mail) and,
/// with `invite_members`, the body's members today; at least one. Each gets a `poll_invitation`
/// e-mail with their signed link to the answer page `/polls/answer?token=…`, valid until
/// `closes_at` (or the last slot's end); people answer signed in too.
#[utoipa::path(
    tag = "scheduling-polls",
    request_body = CreatePoll,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "Created; the participants are e-mailed", body = Poll,
            headers(("Location" = String, description = "The new poll"))),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary run its polls; only the secretariat polls without a body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No such body or person, an unknown time zone, no slots or more than 50, a slot in the past, ending before it starts, repeated or at a local time that does not exist, or nobody asked", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/scheduling-polls")]
pub async fn create_poll(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    body: Json<CreatePoll>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let id = Id::new();
    let mailer = mailer.clone();
    let poll = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::create(conn, caller, &mailer, id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/scheduling-polls/{}", poll.id),
        ))
        .json(poll))
}

/// Get a scheduling poll
///
/// Its slots (UTC and local times) each with the tally (`yes`, `if_need_be`, `no`,
/// `no_answer`), the participants with their answers, and `best_slots`: every slot, best first
/// (most `yes` and `if_need_be` together, then most `yes`, then the earliest). Seen by its
/// managers, its creator and its participants (anyone else: 404); guests' e-mail addresses by
/// its managers only.
#[utoipa::path(
    tag = "scheduling-polls",
    params(("id" = uuid::Uuid, Path, description = "Poll id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsRead])),
    responses(
        (status = 200, description = "The poll", body = Poll),
        (status = 404, description = "No such poll, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/scheduling-polls/{id}")]
pub async fn get_poll(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let poll = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsRead)?;
            repo::get(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(poll))
}

/// Answer a scheduling poll
///
/// The caller's own answers, as a participant (someone who sees the poll without being asked:
/// 403): slot id → `yes`, `if_need_be` or `no`. Slots left out keep their answer; a slot not of
/// this poll is 422. Only while the poll is open and before its `closes_at` (409 `poll-closed`).
#[utoipa::path(
    tag = "scheduling-polls",
    params(("id" = uuid::Uuid, Path, description = "Poll id")),
    request_body = SetAnswers,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "The poll with the answers recorded", body = Poll),
        (status = 403, description = "Not a participant of this poll", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such poll, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The poll is closed, past its closing time, or scheduled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No answers, or a slot that is not this poll's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/scheduling-polls/{id}/answers")]
pub async fn set_answers(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<SetAnswers>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let poll = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::set_answers(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Ok().json(poll))
}

/// Close a scheduling poll
///
/// Its managers: it takes no more answers (an open poll past its `closes_at` may be closed too).
/// It can still be scheduled. A poll that is not open: 409.
#[utoipa::path(
    tag = "scheduling-polls",
    params(("id" = uuid::Uuid, Path, description = "Poll id")),
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 200, description = "Closed", body = Poll),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary close its polls", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such poll, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed or scheduled", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/scheduling-polls/{id}/close")]
pub async fn close_poll(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let poll = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::close(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(poll))
}

/// Turn a scheduling poll into a meeting
///
/// Its managers, in one step: the meeting at the chosen slot (a body's meeting for a body's poll,
/// its members not added; for a poll without a body, the secretariat's, an open event: listed
/// publicly under `/api/v1/events` and open for registration), with the poll's title (unless
/// given), description, zone and language, and the poll's participants (people and guests) as
/// its invitees, each sent the invitation with its calendar entry. The poll becomes `scheduled`
/// with the meeting's id; a poll already scheduled (two at once: one wins) answers 409.
#[utoipa::path(
    tag = "scheduling-polls",
    params(("id" = uuid::Uuid, Path, description = "Poll id")),
    request_body = SchedulePoll,
    security(("bearer" = []), ("api_token" = [Scope::MeetingsWrite])),
    responses(
        (status = 201, description = "The meeting, scheduled; the invitations are sent", body = Meeting,
            headers(("Location" = String, description = "The new meeting"))),
        (status = 403, description = "Only the secretariat or the body's chair, co-chair or secretary schedule its polls", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such poll, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already scheduled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A slot that is not this poll's or has begun, or a bad place or video URL", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/scheduling-polls/{id}/schedule")]
pub async fn schedule_poll(
    state: web::Data<AppState>,
    auth: Auth,
    mailer: web::Data<Mailer>,
    id: web::Path<Uuid>,
    body: Json<SchedulePoll>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let meeting_id = Id::new();
    let mailer = mailer.clone();
    let meeting = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::MeetingsWrite)?;
            repo::schedule(conn, caller, &mailer, &id, meeting_id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/meetings/{}", meeting.id)))
        .json(meeting))
}

/// Read a poll through an answer link
///
/// Public: the signed `token` of the link e-mailed to a participant is the credential. The poll
/// as they see it: the slots with the tally, their own answers and the ranking. A forged,
/// expired or removed participant's link answers 404 (and counts against the address, 429).
#[utoipa::path(
    tag = "scheduling-polls",
    params(("token" = String, Path, description = "The `token` of the answer link")),
    responses(
        (status = 200, description = "The poll as the participant sees it", body = PollByLink),
        (status = 404, description = "A forged, expired or removed link", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/poll-answers/{token}")]
pub async fn get_by_link(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    through_link(&state, &mailer, &req, Access::Read, move |conn, mailer| {
        repo::get_by_link(conn, mailer, &token)
    })
    .await
}

/// Answer a poll through an answer link
///
/// Public: the signed `token` of the link is the credential (a guest without an account answers
/// this way). As the signed-in answer: slot id → `yes`, `if_need_be` or `no`, slots left out
/// keep theirs. A forged, expired or removed participant's link: 404 (429 when repeated); a
/// poll closed, past its closing time or scheduled: 409 `poll-closed`.
#[utoipa::path(
    tag = "scheduling-polls",
    params(("token" = String, Path, description = "The `token` of the answer link")),
    request_body = SetAnswers,
    responses(
        (status = 200, description = "The answers recorded", body = PollByLink),
        (status = 404, description = "A forged, expired or removed link", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The poll is closed, past its closing time, or scheduled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many bad links from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/poll-answers/{token}")]
pub async fn set_by_link(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    req: HttpRequest,
    token: web::Path<String>,
    body: Json<SetAnswers>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let answers = body.into_inner();
    through_link(&state, &mailer, &req, Access::Write, move |conn, mailer| {
        repo::set_by_link(conn, mailer, &token, answers)
    })
    .await
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_polls)
        .service(create_poll)
        .service(get_poll)
        .service(set_answers)
        .service(close_poll)
        .service(schedule_poll)
        .service(get_by_link)
        .service(set_by_link);
}
