//! The demo's bodies: the board (its chair from Oslo University Hospital, members from Oslo Cancer
//! Cluster, hospitals and industry, as the seeds name them), the general assembly and the four
//! working groups, with invented people at the partners. Loaded through the same repository
//! functions the API uses (rules, history and audit apply).

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;

use super::organisation_named;
use crate::auth::Caller;
use crate::bodies::model::{BodyKind, BodyRole, CreateBody, CreateSeat, Majority};
use crate::core::Id;
use crate::core::{DecisionKind, VoteChoice};
use crate::db::DbConn;
use crate::db::functions::lower;
use crate::decisions::model::{CastVote, CreateDecision, OpenVote};
use crate::error::{ApiError, ProblemType};
use crate::notifications::Mailer;
use crate::people::model::CreatePerson;
use crate::schema::{bodies as b, decisions as dc, people as p};

/// An invented person at a demo organisation (by name).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoPerson {
    name: String,
    pub(super) email: String,
    pub(super) organisation: String,
    title: Option<String>,
}

/// A demo body with its seats.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoBody {
    kind: BodyKind,
    name: String,
    short_name: Option<String>,
    mandate: String,
    started_on: NaiveDate,
    quorum_percent: Option<i32>,
    majority: Option<Majority>,
    #[serde(default)]
    pub(super) seat: Vec<DemoSeat>,
}

/// A seat, its person named by e-mail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoSeat {
    pub(super) person: String,
    pub(super) role: BodyRole,
    from: NaiveDate,
}

/// A demo decision of a body (by name), with the votes cast on it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoDecision {
    body: String,
    reference: String,
    title: String,
    text: String,
    kind: DecisionKind,
    /// Close the vote once the votes are in (else it stays open for `open_days`).
    close: bool,
    #[serde(default = "default_open_days")]
    open_days: i64,
    #[serde(default)]
    votes: Vec<DemoVote>,
}

fn default_open_days() -> i64 {
    7
}

/// A vote, its voter named by e-mail.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DemoVote {
    person: String,
    choice: VoteChoice,
}

/// What the governance part of the demo added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GovernanceSeeded {
    pub people: usize,
    pub bodies: usize,
    pub seats: usize,
    pub decisions: usize,
}

fn person_by_email(conn: &mut DbConn, email: &str) -> Result<Option<Id>, ApiError> {
    Ok(p::table
        .filter(p::email.eq(email.to_lowercase()))
        .select(p::id)
        .load::<Id>(conn)?
        .into_iter()
        .next())
}

/// Adds the demo people whose e-mail is not taken yet, and the bodies whose name is not, with
/// their seats.
pub(super) fn load(
    conn: &mut DbConn,
    caller: &Caller,
    people: &[DemoPerson],
    bodies: &[DemoBody],
) -> Result<GovernanceSeeded, ApiError> {
    let mut seeded = GovernanceSeeded::default();
    let now = || crate::core::now().and_utc();
    for d in people {
        if person_by_email(conn, &d.email)?.is_some() {
            continue;
        }
        let org = organisation_named(conn, &d.organisation)?;
        let record = CreatePerson {
            organisation_id: Some(org.clone()),
            name: d.name.clone(),
            email: d.email.clone(),
            title: d.title.clone(),
            phone: None,
        }
        .into_record(Id::new(), Some(org), now());
        crate::people::repo::create(conn, caller, record)?;
        seeded.people += 1;
    }
    for d in bodies {
        let taken: i64 = b::table
            .filter(lower(b::name).eq(d.name.to_lowercase()))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            continue;
        }
        let record = CreateBody {
            kind: d.kind,
            name: d.name.clone(),
            short_name: d.short_name.clone(),
            mandate: Some(d.mandate.clone()),
            status: None,
            started_on: Some(d.started_on),
            ended_on: None,
            quorum_percent: d.quorum_percent,
            majority: d.majority,
        }
        .into_record(Id::new(), now());
        let body = crate::bodies::repo::create(conn, caller, record)?;
        seeded.bodies += 1;
        let today = chrono::Utc::now().date_naive();
        for s in &d.seat {
            let person = person_by_email(conn, &s.person)?.ok_or_else(|| {
                ApiError::internal(format!("the demo data names no person {}", s.person))
            })?;
            let req = CreateSeat {
                person_id: person,
                role: s.role,
                from_date: Some(s.from),
                to_date: None,
            };
            crate::bodies::repo::add_seat(conn, caller, &body.id, Id::new(), req, today)?;
            seeded.seats += 1;
        }
    }
    Ok(seeded)
}

/// Adds the demo decisions whose reference is not taken yet: proposed, opened (the body's
/// voters fixed and e-mailed), the votes cast, and closed when the data says so, all through
/// the decisions' own rules.
pub(super) fn load_decisions(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    decisions: &[DemoDecision],
) -> Result<usize, ApiError> {
    let mut added = 0;
    for d in decisions {
        let taken: i64 = dc::table
            .filter(dc::reference.eq(&d.reference))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            continue;
        }
        let body: Id = b::table
            .filter(lower(b::name).eq(d.body.to_lowercase()))
            .select(b::id)
            .load::<Id>(conn)?
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::internal(format!("the demo data names no body {}", d.body)))?;
        let id = Id::new();
        let req = CreateDecision {
            body_id: body,
            title: d.title.clone(),
            text: d.text.clone(),
            kind: d.kind,
            reference: Some(d.reference.clone()),
            secret_ballot: false,
            subject_organisation_id: None,
            subject_agreement_id: None,
            meeting_id: None,
        };
        crate::decisions::repo::create(conn, caller, &id, req)?;
        let deadline = chrono::Utc::now() + chrono::TimeDelta::days(d.open_days);
        crate::decisions::repo::open(conn, caller, mailer, &id, OpenVote { deadline })?;
        for v in &d.votes {
            let person = person_by_email(conn, &v.person)?.ok_or_else(|| {
                ApiError::internal(format!("the demo data names no person {}", v.person))
            })?;
            // A voter whose organisation the register already held, and holds as no partner,
            // has no vote: their vote is left out, as the service would refuse it.
            match crate::decisions::repo::vote_for(
                conn,
                caller,
                &id,
                &person,
                CastVote { choice: v.choice },
            ) {
                Err(e) if e.problem_type() == ProblemType::NotAVoter => {}
                other => other?,
            }
        }
        if d.close {
            crate::decisions::repo::close(conn, caller, mailer, &id)?;
        }
        added += 1;
    }
    Ok(added)
}
