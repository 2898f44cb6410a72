//! One-click answers from the e-mail: the signed token of an invitation names the invitee and
//! the meeting; with it anyone holding the e-mail (a guest without an account too) sees what the
//! invitation is for and answers it. Forged, damaged, expired and other-meeting tokens, and the
//! tokens of invitees since removed, all answer 404; a cancelled meeting takes no answers (409).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::mail::{open_answer_token, when};
use super::model::{MeetingStatus, Rsvp};
use super::repo::MeetingRow;
use crate::audit;
use crate::core::{Actor, now};
use crate::db::DbConn;
use crate::error::{ApiError, ProblemType};
use crate::notifications::Mailer;
use crate::schema::{meeting_invitees as mi, meetings as m, people as p};

/// What an answer link is for.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "meeting_id": "01937c4e-7777-7000-8000-0000000000d1",
    "title": "WG4 monthly meeting",
    "when": "Monday 29 March 2027, 14:00–15:00",
    "time_zone": "Europe/Oslo",
    "starts_at": "2027-03-29T12:00:00Z",
    "ends_at": "2027-03-29T13:00:00Z",
    "status": "scheduled",
    "invitee_name": "Kari Nordmann",
    "response": "accepted"
}))]
pub struct LinkAnswer {
    pub meeting_id: String,
    pub title: String,
    /// The local date and time, in the meeting's language.
    pub when: String,
    pub time_zone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: MeetingStatus,
    pub invitee_name: String,
    /// The invitee's current answer.
    pub response: Rsvp,
}

/// An answer given through the link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "MDE5Mzd8MDE5Mzh8MTc5MDAwMDAwMA.c2lnbmF0dXJl", "response": "accepted"}))]
pub struct AnswerByLink {
    /// The token from the link in the e-mail.
    pub token: String,
    /// `accepted`, `tentative` or `declined` (a link gives an answer; it does not take one back).
    pub response: LinkResponse,
}

crate::core::text_enum!(
    /// An answer given through a link: an invitation's answers but `needs_action`.
    LinkResponse {
        Accepted = "accepted",
        Tentative = "tentative",
        Declined = "declined",
    }
);

impl From<LinkResponse> for Rsvp {
    fn from(r: LinkResponse) -> Self {
        match r {
            LinkResponse::Accepted => Rsvp::Accepted,
            LinkResponse::Tentative => Rsvp::Tentative,
            LinkResponse::Declined => Rsvp::Declined,
        }
    }
}

struct Found {
    meeting: MeetingRow,
    invitee_id: String,
    name: String,
    response: Rsvp,
}

fn open(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Result<Found, ApiError> {
    let t = open_answer_token(mailer, token).ok_or(ApiError::NotFound)?;
    let invitee: Option<(String, Option<String>, Option<String>, Rsvp)> = mi::table
        .left_join(p::table)
        .filter(mi::id.eq(&t.invitee_id))
        .filter(mi::meeting_id.eq(&t.meeting_id))
        .select((mi::id, p::name.nullable(), mi::guest_name, mi::response))
        .first(conn)
        .optional()?;
    let Some((invitee_id, person_name, guest_name, response)) = invitee else {
        return Err(ApiError::NotFound);
    };
    let meeting: MeetingRow = m::table
        .filter(m::id.eq(&t.meeting_id))
        .select(MeetingRow::as_select())
        .first(conn)?;
    Ok(Found {
        meeting,
        invitee_id,
        name: person_name.or(guest_name).unwrap_or_default(),
        response,
    })
}

fn view(f: Found) -> LinkAnswer {
    let language = f.meeting.language;
    let m = f.meeting.into_meeting(0, None);
    LinkAnswer {
        when: when(m.local_start, m.local_end, language),
        meeting_id: m.id.to_string(),
        title: m.title,
        time_zone: m.time_zone,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        status: m.status,
        invitee_name: f.name,
        response: f.response,
    }
}

/// The language of the meeting a link is for (the answer page's), if the link is good.
pub fn language(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
) -> Option<crate::notifications::Language> {
    open(conn, mailer, token).ok().map(|f| f.meeting.language)
}

/// What the link is for: the meeting, when, the invitee and their answer.
pub fn get(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Result<LinkAnswer, ApiError> {
    Ok(view(open(conn, mailer, token)?))
}

/// Records the answer the link gives, as the invitee (the audit's actor).
pub fn record(
    conn: &mut DbConn,
    mailer: &Mailer,
    req: AnswerByLink,
) -> Result<LinkAnswer, ApiError> {
    let response = Rsvp::from(req.response);
    let mut found = open(conn, mailer, &req.token)?;
    if found.meeting.status == MeetingStatus::Cancelled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the meeting is cancelled",
        ));
    }
    if found.response != response {
        diesel::update(mi::table.filter(mi::id.eq(&found.invitee_id)))
            .set((
                mi::response.eq(response),
                mi::responded_at.eq(Some(now())),
                mi::version.eq(mi::version + 1),
            ))
            .execute(conn)?;
        let actor = Actor {
            kind: "meeting_invitee",
            id: Some(found.invitee_id.clone()),
            request_id: None,
        };
        audit::updated(
            conn,
            &actor,
            "meeting_invitee",
            &found.invitee_id,
            serde_json::json!({"response": {"from": found.response, "to": response}}),
        )?;
        found.response = response;
    }
    Ok(view(found))
}
