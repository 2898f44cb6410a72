//! `/api/v1/decisions`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    CastVote, CreateDecision, Decision, DecisionKind, DecisionStatus, DeclareConflict, OpenVote,
    UpdateDecision, Votes, Withdraw,
};
use super::repo::{self, DecisionsFilter};
use crate::auth::{Auth, Scope};
use crate::core::Id;
use crate::error::{ApiError, Problem};
use crate::http::{IfMatch, Json, Page, PageRequest, Query, created, versioned};
use crate::notifications::Mailer;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecisionsQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub body_id: Option<Id>,
    /// The status as read: an open vote past its deadline is adopted or rejected.
    pub status: Option<DecisionStatus>,
    pub kind: Option<DecisionKind>,
    pub subject_organisation_id: Option<Id>,
    pub subject_agreement_id: Option<Id>,
}

/// List decisions
///
/// In the order they were proposed. The secretariat sees every body's; others those of the bodies
/// they sit in today.
#[utoipa::path(
    tag = "decisions",
    params(DecisionsQuery),
    security(("bearer" = []), ("api_token" = [Scope::DecisionsRead])),
    responses(
        (status = 200, description = "A page of decisions", body = Page<Decision>),
    )
)]
#[get("/decisions")]
pub async fn list_decisions(
    state: web::Data<AppState>,
    auth: Auth,
    query: Query<DecisionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = DecisionsFilter {
        body_id: query.body_id.clone(),
        status: query.status,
        kind: query.kind,
        subject_organisation_id: query.subject_organisation_id.clone(),
        subject_agreement_id: query.subject_agreement_id.clone(),
        meeting_id: None,
    };
    let page = PageRequest::new("decisions", query.limit, query.cursor.as_deref(), 1)?;
    let page = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsRead)?;
            repo::list(conn, caller, &filter, &page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Propose a decision
///
/// The body's chair, co-chair or secretary, or the secretariat. The body must be active; a
/// subject organisation or agreement must exist (their people are recused when the vote opens).
#[utoipa::path(
    tag = "decisions",
    request_body = CreateDecision,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 201, description = "Proposed", body = Decision,
            headers(("Location" = String, description = "The new decision"), ("ETag" = String, description = "Its version"))),
        (status = 403, description = "You do not manage the body", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reference is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/decisions")]
pub async fn create_decision(
    state: web::Data<AppState>,
    auth: Auth,
    body: Json<CreateDecision>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let id = Id::new();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::create(conn, caller, &id, req)
        })
        .await?;
    Ok(created(
        format!("/api/v1/decisions/{}", decision.id),
        decision.version,
        &decision,
    ))
}

/// Get a decision
///
/// With its rules, deadline, how many have voted, the result and the recusals once closed, and
/// the caller's own vote. A vote past its deadline reads as closed with its result.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    security(("bearer" = []), ("api_token" = [Scope::DecisionsRead])),
    responses(
        (status = 200, description = "The decision", body = Decision, headers(("ETag" = String, description = "Its version"))),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/decisions/{id}")]
pub async fn get_decision(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let decision = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsRead)?;
            repo::get_visible(conn, caller, &id)
        })
        .await?;
    Ok(versioned(StatusCode::OK, decision.version, &decision))
}

/// Update a proposed decision
///
/// Needs `If-Match`. Only while proposed (else 409 `invalid-transition`).
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    request_body = UpdateDecision,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Updated", body = Decision, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not proposed any more, or the reference is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/decisions/{id}")]
pub async fn update_decision(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<UpdateDecision>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let patch = body.into_inner();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::update(conn, caller, &id, &if_match, patch)
        })
        .await?;
    Ok(versioned(StatusCode::OK, decision.version, &decision))
}

/// Open the vote
///
/// Those who manage the body. Copies the body's quorum and majority, fixes the voters (the seats
/// in force today that vote; the subject's people recused) and e-mails the body's members.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    request_body = OpenVote,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Open for voting", body = Decision, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not proposed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/decisions/{id}/open")]
pub async fn open_vote(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<OpenVote>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let mailer = mailer.clone();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::open(conn, caller, &mailer, &id, req)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, decision.version, &decision))
}

/// Close the vote
///
/// The chair, co-chair or secretary, or the secretariat, before the deadline: the result is
/// computed and stored with the counts, and e-mailed to the body's members. A secret ballot keeps
/// only the counts.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Closed: adopted or rejected", body = Decision, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/decisions/{id}/close")]
pub async fn close_vote(
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let mailer = mailer.clone();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::close(conn, caller, &mailer, &id)
        })
        .await?;
    state.wake_mailer();
    Ok(versioned(StatusCode::OK, decision.version, &decision))
}

/// Withdraw a decision
///
/// A proposed decision or an open vote, with a reason.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    request_body = Withdraw,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Withdrawn", body = Decision, headers(("ETag" = String, description = "The new version"))),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided or withdrawn", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/decisions/{id}/withdraw")]
pub async fn withdraw_decision(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<Withdraw>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::withdraw(conn, caller, &id, req)
        })
        .await?;
    Ok(versioned(StatusCode::OK, decision.version, &decision))
}

/// Vote
///
/// A voter fixed when the vote opened, not recused, who still holds a voting seat and whose
/// organisation is still a partner (else 403 `not-a-voter`, saying why), while the vote is open
/// and before its deadline (else 409 `voting-closed`). The vote may change until the close.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    request_body = CastVote,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Voted", body = Decision),
        (status = 403, description = "Not a voter on this decision", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The vote is not open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/decisions/{id}/vote")]
pub async fn cast_vote(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<CastVote>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::vote(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Ok().json(decision))
}

/// The votes
///
/// Before the close each caller sees their own vote and how many have voted; after it, who voted
/// how, unless the decision is a secret ballot (the counts only).
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    security(("bearer" = []), ("api_token" = [Scope::DecisionsRead])),
    responses(
        (status = 200, description = "The votes as shown to you", body = Votes),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/decisions/{id}/votes")]
pub async fn list_votes(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let votes = auth
        .read(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsRead)?;
            repo::votes(conn, caller, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(votes))
}

/// Declare a conflict of interest
///
/// A voter steps aside with a reason: recused, any vote of theirs removed. The quorum's base
/// stays the count of voters at the opening.
#[utoipa::path(
    tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    request_body = DeclareConflict,
    security(("bearer" = []), ("api_token" = [Scope::DecisionsWrite])),
    responses(
        (status = 200, description = "Recused", body = Decision),
        (status = 403, description = "Not a voter on this decision, or recused already", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such decision, or not visible to you", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The vote is not open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/decisions/{id}/recusals")]
pub async fn declare_conflict(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<Uuid>,
    body: Json<DeclareConflict>,
) -> Result<HttpResponse, ApiError> {
    let id = Id::from(id.into_inner());
    let req = body.into_inner();
    let decision = auth
        .write(&state.db, move |conn, caller| {
            caller.require_scope(Scope::DecisionsWrite)?;
            repo::recuse(conn, caller, &id, req)
        })
        .await?;
    Ok(HttpResponse::Ok().json(decision))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_decisions)
        .service(create_decision)
        .service(get_decision)
        .service(update_decision)
        .service(open_vote)
        .service(close_vote)
        .service(withdraw_decision)
        .service(cast_vote)
        .service(list_votes)
        .service(declare_conflict);
}
