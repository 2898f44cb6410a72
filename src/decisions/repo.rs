//! Database access for decisions, their voters and votes.
//!
//! - The voters are fixed when the vote opens (`decision_voters`): the body's seats in force that
//!   day whose role votes and whose person's organisation is a partner (or who have none).
//!   Members of the decision's subject organisation (or of the subject agreement's company) are
//!   inserted recused. The quorum's base is the count of voters not recused at the opening; a
//!   conflict declared later does not change it.
//! - A vote needs, at the moment it is cast, a seat that still votes: a voter whose organisation
//!   is suspended or leaves mid-vote is refused from then on, while a vote cast before stands.
//! - A vote past its deadline reads as closed with the result its votes give ([`effective`]),
//!   before the worker stores the close ([`job`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::model::{
    CastVote, CreateDecision, Decision, DecisionKind, DecisionStatus, DeclareConflict, Draft,
    Majority, OpenVote, Recusal, RecusalKind, UpdateDecision, Vote, VoteChoice, VoteResult, Votes,
    Withdraw, clean, tally, validate,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, VotesShown};
use crate::bodies::repo::{caller_person, caller_seats, seats_of};
use crate::core::{Actor, BodyRole, BodyStatus, Id, MembershipStatus, now, today};
use crate::db::DbConn;
use crate::db::functions::lower;
use crate::error::{ApiError, ProblemType};
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::notifications::repo::Recipient;
use crate::notifications::{Kind, Language, Mailer, enqueue};
use crate::schema::{
    agreements as ag, bodies as b, body_members as bm, decision_voters as dv, decisions as d,
    meetings as m, organisations as o, people as p, users as u,
};
use crate::webhooks::{self, EventType};

/// A decision as stored.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = d)]
pub(crate) struct DecisionRow {
    pub id: Id,
    pub body_id: Id,
    pub reference: Option<String>,
    pub title: String,
    pub text: String,
    pub kind: DecisionKind,
    pub status: DecisionStatus,
    pub secret_ballot: bool,
    pub subject_organisation_id: Option<Id>,
    pub subject_agreement_id: Option<Id>,
    pub meeting_id: Option<Id>,
    pub quorum_percent: Option<i32>,
    pub majority: Option<Majority>,
    pub opened_at: Option<NaiveDateTime>,
    pub deadline: Option<NaiveDateTime>,
    pub eligible_count: Option<i32>,
    pub quorum: Option<i32>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<Id>,
    pub yes_count: Option<i32>,
    pub no_count: Option<i32>,
    pub abstain_count: Option<i32>,
    pub quorum_reached: Option<bool>,
    pub created_by: Option<Id>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl DecisionRow {
    fn draft(&self) -> Draft {
        Draft {
            title: self.title.clone(),
            text: self.text.clone(),
            kind: self.kind,
            reference: self.reference.clone(),
            secret_ballot: self.secret_ballot,
        }
    }

    /// Open, and its deadline passed.
    fn is_due(&self, at: NaiveDateTime) -> bool {
        self.status == DecisionStatus::Open && self.deadline.is_some_and(|t| t <= at)
    }
}

/// A voter with their name.
#[derive(Debug, Clone)]
pub(crate) struct Voter {
    pub person_id: Id,
    pub name: String,
    pub recused: bool,
    pub recusal_kind: Option<RecusalKind>,
    pub recusal_reason: Option<String>,
    pub recused_at: Option<NaiveDateTime>,
    pub choice: Option<VoteChoice>,
    pub voted_at: Option<NaiveDateTime>,
}

type VoterTuple = (
    String,
    Id,
    String,
    bool,
    Option<RecusalKind>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<VoteChoice>,
    Option<NaiveDateTime>,
);

/// The voters of the given decisions, by decision, by name.
fn voters_of(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, Vec<Voter>>, ApiError> {
    let mut out: HashMap<String, Vec<Voter>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<VoterTuple> = dv::table
        .inner_join(p::table.on(p::id.eq(dv::person_id)))
        .filter(dv::decision_id.eq_any(ids))
        .order((p::name.asc(), dv::person_id.asc()))
        .select((
            dv::decision_id,
            dv::person_id,
            p::name,
            dv::recused,
            dv::recusal_kind,
            dv::recusal_reason,
            dv::recused_at,
            dv::choice,
            dv::voted_at,
        ))
        .load(conn)?;
    for (decision, person_id, name, recused, kind, reason, at, choice, voted_at) in rows {
        out.entry(decision).or_default().push(Voter {
            person_id,
            name,
            recused,
            recusal_kind: kind,
            recusal_reason: reason,
            recused_at: at,
            choice,
            voted_at,
        });
    }
    Ok(out)
}

/// The counts of the votes cast (recused voters never hold one).
fn count(voters: &[Voter]) -> (i32, i32, i32) {
    let mut n = (0, 0, 0);
    for v in voters.iter().filter(|v| !v.recused) {
        match v.choice {
            Some(VoteChoice::Yes) => n.0 += 1,
            Some(VoteChoice::No) => n.1 += 1,
            Some(VoteChoice::Abstain) => n.2 += 1,
            None => {}
        }
    }
    n
}

/// Where a decision stands as read at `at`: a vote past its deadline is closed with the result
/// its votes give, whether or not the close was stored.
pub(crate) struct Effective {
    pub status: DecisionStatus,
    pub closed_at: Option<NaiveDateTime>,
    pub result: Option<VoteResult>,
}

pub(crate) fn effective(row: &DecisionRow, voters: &[Voter], at: NaiveDateTime) -> Effective {
    match row.status {
        DecisionStatus::Adopted | DecisionStatus::Rejected => Effective {
            status: row.status,
            closed_at: row.closed_at,
            result: Some(VoteResult {
                yes: row.yes_count.unwrap_or(0),
                no: row.no_count.unwrap_or(0),
                abstain: row.abstain_count.unwrap_or(0),
                quorum_reached: row.quorum_reached.unwrap_or(false),
                adopted: row.status == DecisionStatus::Adopted,
            }),
        },
        DecisionStatus::Open if row.is_due(at) => {
            let result = result_of(row, voters);
            Effective {
                status: if result.adopted {
                    DecisionStatus::Adopted
                } else {
                    DecisionStatus::Rejected
                },
                closed_at: row.deadline,
                result: Some(result),
            }
        }
        status => Effective {
            status,
            closed_at: row.closed_at,
            result: None,
        },
    }
}

/// The result the votes give by the decision's rules.
fn result_of(row: &DecisionRow, voters: &[Voter]) -> VoteResult {
    let (yes, no, abstain) = count(voters);
    let t = tally(
        row.eligible_count.unwrap_or(0),
        row.quorum_percent.unwrap_or(50),
        row.majority.unwrap_or(Majority::Simple),
        yes,
        no,
        abstain,
    );
    VoteResult {
        yes,
        no,
        abstain,
        quorum_reached: t.quorum_reached,
        adopted: t.adopted,
    }
}

/// Why a person may not vote today in the body (`None`: they may): their seat must still vote
/// and their organisation still be a partner.
fn no_vote_today(
    conn: &mut DbConn,
    person_id: &str,
    body_id: &str,
) -> Result<Option<&'static str>, ApiError> {
    let seats = seats_of(conn, person_id, body_id, today())?;
    if seats.is_empty() {
        return Ok(Some("you no longer hold a seat in the body"));
    }
    if seats.iter().all(|r| !r.votes()) {
        return Ok(Some("observers do not vote"));
    }
    let status = organisation_status_of(conn, person_id)?;
    if seats.iter().any(|r| policy::holds_vote(*r, status)) {
        Ok(None)
    } else {
        Ok(Some(
            "your organisation is not a partner of the consortium now: its people do not vote \
             from the day it was suspended or left (votes cast before stand)",
        ))
    }
}

/// The membership status of a person's organisation (none without one).
fn organisation_status_of(
    conn: &mut DbConn,
    person_id: &str,
) -> Result<Option<MembershipStatus>, ApiError> {
    let org: Option<String> = p::table
        .filter(p::id.eq(person_id))
        .select(p::organisation_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten();
    crate::bodies::repo::organisation_status(conn, org.as_deref())
}

pub(crate) fn find_row(conn: &mut DbConn, id: &str) -> Result<DecisionRow, ApiError> {
    Ok(d::table
        .filter(d::id.eq(id))
        .select(DecisionRow::as_select())
        .first::<DecisionRow>(conn)?)
}

/// Who is asking: their person and their seats in the decision's body.
struct Viewer {
    person: Option<String>,
}

fn viewer(conn: &mut DbConn, caller: &Caller) -> Result<Viewer, ApiError> {
    Ok(Viewer {
        person: caller_person(conn, caller)?,
    })
}

/// A decision as the caller sees it.
fn assemble(
    conn: &mut DbConn,
    me: &Viewer,
    row: DecisionRow,
    voters: Vec<Voter>,
    at: NaiveDateTime,
) -> Result<Decision, ApiError> {
    let eff = effective(&row, &voters, at);
    let mine = me
        .person
        .as_deref()
        .and_then(|person| voters.iter().find(|v| v.person_id.as_str() == person));
    let i_may_vote = match (eff.status, mine) {
        (DecisionStatus::Open, Some(v)) if !v.recused => {
            no_vote_today(conn, v.person_id.as_str(), row.body_id.as_str())?.is_none()
        }
        _ => false,
    };
    let my_vote = mine.and_then(|v| v.choice);
    let voted_count =
        i32::try_from(voters.iter().filter(|v| v.voted_at.is_some()).count()).unwrap_or(i32::MAX);
    let recusals = voters
        .iter()
        .filter(|v| v.recused)
        .map(|v| Recusal {
            person_id: v.person_id.clone(),
            name: v.name.clone(),
            kind: v.recusal_kind.unwrap_or(RecusalKind::Declared),
            reason: v.recusal_reason.clone(),
            recused_at: v.recused_at.map(|t| t.and_utc()),
        })
        .collect();
    Ok(Decision {
        id: row.id,
        body_id: row.body_id,
        reference: row.reference,
        title: row.title,
        text: row.text,
        kind: row.kind,
        status: eff.status,
        secret_ballot: row.secret_ballot,
        subject_organisation_id: row.subject_organisation_id,
        subject_agreement_id: row.subject_agreement_id,
        meeting_id: row.meeting_id,
        quorum_percent: row.quorum_percent,
        majority: row.majority,
        opened_at: row.opened_at.map(|t| t.and_utc()),
        deadline: row.deadline.map(|t| t.and_utc()),
        eligible_count: row.eligible_count,
        quorum: row.quorum,
        voted_count,
        result: eff.result,
        recusals,
        closed_at: eff.closed_at.map(|t| t.and_utc()),
        closed_by: row.closed_by,
        my_vote,
        i_may_vote,
        created_by: row.created_by,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        version: row.version,
    })
}

fn one(conn: &mut DbConn, me: &Viewer, row: DecisionRow) -> Result<Decision, ApiError> {
    let mut voters = voters_of(conn, &[row.id.as_str()])?;
    let mine = voters.remove(row.id.as_str()).unwrap_or_default();
    assemble(conn, me, row, mine, now())
}

/// A decision read again after a change.
fn reread(conn: &mut DbConn, me: &Viewer, id: &str) -> Result<Decision, ApiError> {
    let row = find_row(conn, id)?;
    one(conn, me, row)
}

/// The row of a decision the caller may see (404 otherwise).
fn visible_row(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<DecisionRow, ApiError> {
    let row = find_row(conn, id)?;
    let seats = caller_seats(conn, caller, row.body_id.as_str(), today())?;
    policy::see_decisions(caller, &seats)?;
    Ok(row)
}

/// The row of a decision the caller may see and manage (404 / 403 otherwise).
fn managed_row(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<DecisionRow, ApiError> {
    let row = find_row(conn, id)?;
    let seats = caller_seats(conn, caller, row.body_id.as_str(), today())?;
    policy::see_decisions(caller, &seats)?;
    policy::manage_decisions(caller, &seats)?;
    Ok(row)
}

pub fn get_visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Decision, ApiError> {
    let row = visible_row(conn, caller, id)?;
    let me = viewer(conn, caller)?;
    one(conn, &me, row)
}

fn invalid_transition(detail: impl Into<String>) -> ApiError {
    ApiError::conflict_of(ProblemType::InvalidTransition, detail)
}

fn check_reference(conn: &mut DbConn, id: &str, reference: &str) -> Result<(), ApiError> {
    let taken: i64 = d::table
        .filter(lower(d::reference.assume_not_null()).eq(reference.to_lowercase()))
        .filter(d::reference.is_not_null())
        .filter(d::id.ne(id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        Err(ApiError::conflict(format!(
            "another decision has the reference {reference}"
        )))
    } else {
        Ok(())
    }
}

/// Proposes a decision to an active body.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    id: &Id,
    req: CreateDecision,
) -> Result<Decision, ApiError> {
    let body: Option<BodyStatus> = b::table
        .filter(b::id.eq(&req.body_id))
        .select(b::status)
        .first(conn)
        .optional()?;
    let seats = caller_seats(conn, caller, req.body_id.as_str(), today())?;
    let Some(body_status) = body else {
        return Err(ApiError::invalid("body_id", "not_found", "no such body"));
    };
    policy::manage_decisions(caller, &seats)?;
    if body_status != BodyStatus::Active {
        return Err(ApiError::invalid(
            "body_id",
            "dissolved",
            "the body is dissolved: it takes no new decisions",
        ));
    }
    let draft = Draft {
        title: req.title.trim().to_owned(),
        text: req.text.trim().to_owned(),
        kind: req.kind,
        reference: clean(req.reference),
        secret_ballot: req.secret_ballot,
    };
    validate(&draft)?;
    if let Some(org) = &req.subject_organisation_id {
        let n: i64 = o::table.filter(o::id.eq(org)).count().get_result(conn)?;
        if n == 0 {
            return Err(ApiError::invalid(
                "subject_organisation_id",
                "not_found",
                "no such organisation",
            ));
        }
    }
    if let Some(agreement) = &req.subject_agreement_id {
        let n: i64 = ag::table
            .filter(ag::id.eq(agreement))
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(ApiError::invalid(
                "subject_agreement_id",
                "not_found",
                "no such agreement",
            ));
        }
    }
    if let Some(meeting) = &req.meeting_id {
        let body: Option<Option<String>> = m::table
            .filter(m::id.eq(meeting))
            .select(m::body_id)
            .first(conn)
            .optional()?;
        match body {
            None => {
                return Err(ApiError::invalid(
                    "meeting_id",
                    "not_found",
                    "no such meeting",
                ));
            }
            Some(body) if body.as_deref() != Some(req.body_id.as_str()) => {
                return Err(ApiError::invalid(
                    "meeting_id",
                    "other_body",
                    "the meeting is not one of the decision's body",
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(r) = &draft.reference {
        check_reference(conn, id, r)?;
    }
    let t = now();
    diesel::insert_into(d::table)
        .values((
            d::id.eq(id),
            d::body_id.eq(&req.body_id),
            d::reference.eq(&draft.reference),
            d::title.eq(&draft.title),
            d::text.eq(&draft.text),
            d::kind.eq(draft.kind),
            d::status.eq(DecisionStatus::Proposed),
            d::secret_ballot.eq(draft.secret_ballot),
            d::subject_organisation_id.eq(&req.subject_organisation_id),
            d::subject_agreement_id.eq(&req.subject_agreement_id),
            d::meeting_id.eq(&req.meeting_id),
            d::created_by.eq(caller.author()),
            d::created_at.eq(t),
            d::updated_at.eq(t),
            d::version.eq(1),
        ))
        .execute(conn)?;
    let me = viewer(conn, caller)?;
    let decision = reread(conn, &me, id)?;
    audit::created(conn, &caller.actor(), "decision", id, &decision)?;
    Ok(decision)
}

/// Changes a proposed decision (If-Match).
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateDecision,
) -> Result<Decision, ApiError> {
    let before = managed_row(conn, caller, id)?;
    if_match.check(before.version)?;
    if before.status != DecisionStatus::Proposed {
        return Err(invalid_transition(format!(
            "the decision is {}: only a proposed decision changes",
            before.status
        )));
    }
    let old = before.draft();
    let new = patch.apply(&old);
    validate(&new)?;
    let me = viewer(conn, caller)?;
    let Some(changes) = audit::changes(&old, &new) else {
        return one(conn, &me, before);
    };
    if let Some(r) = &new.reference
        && new.reference != old.reference
    {
        check_reference(conn, id, r)?;
    }
    let rows = diesel::update(
        d::table
            .filter(d::id.eq(id))
            .filter(d::version.eq(before.version))
            .filter(d::status.eq(DecisionStatus::Proposed)),
    )
    .set((
        d::title.eq(&new.title),
        d::text.eq(&new.text),
        d::kind.eq(new.kind),
        d::reference.eq(&new.reference),
        d::secret_ballot.eq(new.secret_ballot),
        d::updated_at.eq(now()),
        d::version.eq(before.version + 1),
    ))
    .execute(conn)?;
    won_race(rows)?;
    audit::updated(conn, &caller.actor(), "decision", id, changes)?;
    reread(conn, &me, id)
}

/// A seat in force today, with its person's organisation.
type SeatTuple = (String, BodyRole, Option<String>);

/// The seats of a body in force on a day: person, role, organisation.
fn seats_in_force(
    conn: &mut DbConn,
    body_id: &str,
    on: NaiveDate,
) -> Result<Vec<SeatTuple>, ApiError> {
    Ok(bm::table
        .inner_join(p::table.on(p::id.eq(bm::person_id)))
        .filter(bm::body_id.eq(body_id))
        .filter(bm::from_date.le(on))
        .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
        .order(bm::person_id.asc())
        .select((bm::person_id, bm::role, p::organisation_id))
        .load(conn)?)
}

/// Opens the vote: copies the body's rules, fixes the voters (recusing the subject's people) and
/// tells the body's members.
pub fn open(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    req: OpenVote,
) -> Result<Decision, ApiError> {
    let before = managed_row(conn, caller, id)?;
    if before.status != DecisionStatus::Proposed {
        return Err(invalid_transition(format!(
            "the decision is {}: only a proposed decision opens for voting",
            before.status
        )));
    }
    let t = now();
    // At the precision both databases keep, so the deadline reads back as it was stored.
    let deadline = req.deadline.naive_utc();
    let deadline =
        chrono::DurationRound::duration_trunc(deadline, chrono::TimeDelta::microseconds(1))
            .unwrap_or(deadline);
    if deadline <= t {
        return Err(ApiError::invalid(
            "deadline",
            "past",
            "the deadline must be in the future",
        ));
    }
    let (body_status, quorum_percent, majority, body_name): (BodyStatus, i32, Majority, String) =
        b::table
            .filter(b::id.eq(&before.body_id))
            .select((b::status, b::quorum_percent, b::majority, b::name))
            .first(conn)?;
    if body_status != BodyStatus::Active {
        return Err(invalid_transition(
            "the body is dissolved: it holds no votes",
        ));
    }
    // The subject's organisation: its people are recused.
    let mut subject_orgs: HashSet<String> = HashSet::new();
    if let Some(org) = &before.subject_organisation_id {
        subject_orgs.insert(org.to_string());
    }
    if let Some(agreement) = &before.subject_agreement_id {
        let company: String = ag::table
            .filter(ag::id.eq(agreement))
            .select(ag::organisation_id)
            .first(conn)?;
        subject_orgs.insert(company);
    }
    let seats = seats_in_force(conn, before.body_id.as_str(), today())?;
    let org_ids: Vec<&str> = seats.iter().filter_map(|s| s.2.as_deref()).collect();
    let statuses: HashMap<String, MembershipStatus> = o::table
        .filter(o::id.eq_any(&org_ids))
        .select((o::id, o::membership_status))
        .load::<(String, MembershipStatus)>(conn)?
        .into_iter()
        .collect();
    // One voter per person with any seat that votes.
    let mut voters: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (person, role, org) in &seats {
        let status = org.as_ref().and_then(|o| statuses.get(o).copied());
        if policy::holds_vote(*role, status) {
            voters.insert(person.clone(), org.clone());
        }
    }
    let mut eligible = 0;
    for (person, org) in &voters {
        let recused = org.as_ref().is_some_and(|o| subject_orgs.contains(o));
        if !recused {
            eligible += 1;
        }
        diesel::insert_into(dv::table)
            .values((
                dv::decision_id.eq(id),
                dv::person_id.eq(person),
                dv::organisation_id.eq(org),
                dv::recused.eq(recused),
                dv::recusal_kind.eq(recused.then_some(RecusalKind::OwnOrganisation)),
                dv::recusal_reason
                    .eq(recused.then_some("the decision is about the member's own organisation")),
                dv::recused_at.eq(recused.then_some(t)),
            ))
            .execute(conn)?;
    }
    let quorum = super::model::quorum_of(eligible, quorum_percent);
    let rows = diesel::update(
        d::table
            .filter(d::id.eq(id))
            .filter(d::status.eq(DecisionStatus::Proposed)),
    )
    .set((
        d::status.eq(DecisionStatus::Open),
        d::opened_at.eq(t),
        d::deadline.eq(deadline),
        d::quorum_percent.eq(quorum_percent),
        d::majority.eq(majority),
        d::eligible_count.eq(eligible),
        d::quorum.eq(quorum),
        d::updated_at.eq(t),
        d::version.eq(d::version + 1),
    ))
    .execute(conn)?;
    if rows == 0 {
        return Err(invalid_transition("the decision is no longer proposed"));
    }
    audit::record(
        conn,
        &caller.actor(),
        "decision.opened",
        "decision",
        id,
        json!({"status": {"from": "proposed", "to": "open"}, "deadline": deadline.and_utc(),
               "eligible_count": eligible, "quorum": quorum, "quorum_percent": quorum_percent,
               "majority": majority}),
    )?;
    let values = json!({
        "body": body_name, "title": before.title, "reference": before.reference,
        "deadline": format_time(deadline), "eligible": eligible, "quorum": quorum,
        "link": mailer.link(&format!("/api/v1/decisions/{id}")),
    });
    for to in members_of(conn, before.body_id.as_str())? {
        enqueue(conn, mailer, Kind::VoteOpened, &to, values.clone())?;
    }
    let me = viewer(conn, caller)?;
    reread(conn, &me, id)
}

fn format_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The recipients for people: their linked active account (in its language), else their own
/// e-mail (in Norwegian).
pub fn recipients_for(conn: &mut DbConn, people: &[String]) -> Result<Vec<Recipient>, ApiError> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let accounts: Vec<(Option<String>, String, String, String, Language)> = u::table
        .filter(u::person_id.eq_any(people))
        .filter(u::active.eq(true))
        .order(u::id.asc())
        .select((u::person_id, u::id, u::email, u::display_name, u::language))
        .load(conn)?;
    let mut out: Vec<Recipient> = Vec::new();
    let mut covered: HashSet<String> = HashSet::new();
    for (person, user_id, email, name, language) in accounts {
        if let Some(person) = person
            && covered.insert(person)
        {
            out.push(Recipient {
                email,
                name: Some(name),
                user_id: Some(user_id),
                language,
            });
        }
    }
    let rest: Vec<&String> = people.iter().filter(|x| !covered.contains(*x)).collect();
    if !rest.is_empty() {
        let own: Vec<(String, String)> = p::table
            .filter(p::id.eq_any(rest))
            .order(p::id.asc())
            .select((p::email, p::name))
            .load(conn)?;
        for (email, name) in own {
            out.push(Recipient {
                email,
                name: Some(name),
                user_id: None,
                language: Language::default(),
            });
        }
    }
    Ok(out)
}

/// A body's current members (every seat in force today, observers too), once each.
fn members_of(conn: &mut DbConn, body_id: &str) -> Result<Vec<Recipient>, ApiError> {
    let mut people: Vec<String> = seats_in_force(conn, body_id, today())?
        .into_iter()
        .map(|s| s.0)
        .collect();
    people.dedup();
    recipients_for(conn, &people)
}

/// Stores the close of an open vote with its counts and result (a conditional update: of two
/// closes one wins, and only it tells the body). In a secret ballot the choices are erased once
/// counted. Returns the messages queued, or `None` when it was not open any more.
fn store_close(
    conn: &mut DbConn,
    mailer: &Mailer,
    actor: &Actor,
    row: &DecisionRow,
    closed_by: Option<&str>,
    closed_at: NaiveDateTime,
) -> Result<Option<usize>, ApiError> {
    let voters = voters_of(conn, &[row.id.as_str()])?
        .remove(row.id.as_str())
        .unwrap_or_default();
    let r = result_of(row, &voters);
    let status = if r.adopted {
        DecisionStatus::Adopted
    } else {
        DecisionStatus::Rejected
    };
    let rows = diesel::update(
        d::table
            .filter(d::id.eq(&row.id))
            .filter(d::status.eq(DecisionStatus::Open)),
    )
    .set((
        d::status.eq(status),
        d::closed_at.eq(closed_at),
        d::closed_by.eq(closed_by),
        d::yes_count.eq(r.yes),
        d::no_count.eq(r.no),
        d::abstain_count.eq(r.abstain),
        d::quorum_reached.eq(r.quorum_reached),
        d::updated_at.eq(now()),
        d::version.eq(d::version + 1),
    ))
    .execute(conn)?;
    if rows == 0 {
        return Ok(None);
    }
    if row.secret_ballot {
        diesel::update(dv::table.filter(dv::decision_id.eq(&row.id)))
            .set(dv::choice.eq(None::<VoteChoice>))
            .execute(conn)?;
    }
    audit::record(
        conn,
        actor,
        "decision.closed",
        "decision",
        row.id.as_str(),
        json!({"status": {"from": "open", "to": status}, "yes": r.yes, "no": r.no,
               "abstain": r.abstain, "quorum_reached": r.quorum_reached,
               "closed_early": closed_by.is_some()}),
    )?;
    webhooks::emit(
        conn,
        EventType::DecisionClosed,
        json!({
            "decision_id": row.id, "body_id": row.body_id, "title": row.title,
            "reference": row.reference, "outcome": status, "yes": r.yes, "no": r.no,
            "abstain": r.abstain, "quorum_reached": r.quorum_reached,
            "closed_at": closed_at.and_utc(), "closed_early": closed_by.is_some(),
        }),
    )?;
    let body_name: String = b::table
        .filter(b::id.eq(&row.body_id))
        .select(b::name)
        .first(conn)?;
    let recused = voters.iter().filter(|v| v.recused).count();
    let values = json!({
        "body": body_name, "title": row.title, "reference": row.reference,
        "outcome": status, "yes": r.yes, "no": r.no, "abstain": r.abstain,
        "quorum": row.quorum.unwrap_or(0), "quorum_reached": r.quorum_reached,
        "recused": recused, "closed_at": format_time(closed_at),
        "link": mailer.link(&format!("/api/v1/decisions/{}", row.id)),
    });
    let mut queued = 0;
    for to in members_of(conn, row.body_id.as_str())? {
        queued +=
            usize::from(enqueue(conn, mailer, Kind::VoteResult, &to, values.clone())?.is_some());
    }
    Ok(Some(queued))
}

/// The chair (co-chair, secretary) or the secretariat closes the vote before its deadline. A
/// vote already past its deadline is stored as closed at the deadline.
pub fn close(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
) -> Result<Decision, ApiError> {
    let row = managed_row(conn, caller, id)?;
    if row.status != DecisionStatus::Open {
        return Err(invalid_transition(format!(
            "the decision is {}: only an open vote closes",
            row.status
        )));
    }
    let t = now();
    let stored = if row.is_due(t) {
        store_close(
            conn,
            mailer,
            &Actor::system(),
            &row,
            None,
            row.deadline.unwrap_or(t),
        )?
    } else {
        store_close(conn, mailer, &caller.actor(), &row, caller.author(), t)?
    };
    if stored.is_none() {
        return Err(invalid_transition("the vote is closed already"));
    }
    let me = viewer(conn, caller)?;
    reread(conn, &me, id)
}

/// Withdraws a proposed decision or an open vote, with a reason.
pub fn withdraw(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: Withdraw,
) -> Result<Decision, ApiError> {
    let row = managed_row(conn, caller, id)?;
    let mut v = crate::validation::Validator::new();
    v.text("reason", req.reason.trim(), 1000);
    v.finish()?;
    let t = now();
    let from = row.status;
    if !matches!(from, DecisionStatus::Proposed | DecisionStatus::Open) || row.is_due(t) {
        return Err(invalid_transition(
            "only a proposed decision or an open vote is withdrawn",
        ));
    }
    let rows = diesel::update(
        d::table
            .filter(d::id.eq(id))
            .filter(d::status.eq(from))
            .filter(d::deadline.is_null().or(d::deadline.gt(t))),
    )
    .set((
        d::status.eq(DecisionStatus::Withdrawn),
        d::updated_at.eq(t),
        d::version.eq(d::version + 1),
    ))
    .execute(conn)?;
    if rows == 0 {
        return Err(invalid_transition("the decision changed meanwhile"));
    }
    audit::record(
        conn,
        &caller.actor(),
        "decision.withdrawn",
        "decision",
        id,
        json!({"status": {"from": from, "to": "withdrawn"}, "reason": req.reason.trim()}),
    )?;
    let me = viewer(conn, caller)?;
    reread(conn, &me, id)
}

fn voting_closed(detail: impl Into<String>) -> ApiError {
    ApiError::conflict_of(ProblemType::VotingClosed, detail)
}

fn not_a_voter(detail: impl Into<String>) -> ApiError {
    ApiError::refused(ProblemType::NotAVoter, detail)
}

/// The caller's voter row, if they may vote on an open vote now (else 409 / 403 saying why).
fn open_voter(
    conn: &mut DbConn,
    person: Option<String>,
    row: &DecisionRow,
    at: NaiveDateTime,
) -> Result<String, ApiError> {
    let person = voter_of_open_vote(conn, person, row, at)?;
    match no_vote_today(conn, &person, row.body_id.as_str())? {
        Some(why) => Err(not_a_voter(why)),
        None => Ok(person),
    }
}

/// The caller's voter row on an open vote, not recused (else 409 / 403 saying why), whether or
/// not their seat and organisation still vote today.
fn voter_of_open_vote(
    conn: &mut DbConn,
    person: Option<String>,
    row: &DecisionRow,
    at: NaiveDateTime,
) -> Result<String, ApiError> {
    match row.status {
        DecisionStatus::Open if row.is_due(at) => {
            return Err(voting_closed("the vote's deadline has passed"));
        }
        DecisionStatus::Open => {}
        DecisionStatus::Proposed => return Err(voting_closed("the vote has not opened yet")),
        s => {
            return Err(voting_closed(format!(
                "the vote is closed: the decision is {s}"
            )));
        }
    }
    let Some(person) = person else {
        return Err(not_a_voter(
            "your account is not linked to a person who sits in the body",
        ));
    };
    let voter: Option<(bool, Option<RecusalKind>)> = dv::table
        .filter(dv::decision_id.eq(&row.id))
        .filter(dv::person_id.eq(&person))
        .select((dv::recused, dv::recusal_kind))
        .first(conn)
        .optional()?;
    match voter {
        None => {
            let seats = seats_of(conn, &person, row.body_id.as_str(), today())?;
            let why = if !seats.is_empty() && seats.iter().all(|r| !r.votes()) {
                "observers do not vote"
            } else {
                "you were not a voting member of the body when the vote opened"
            };
            Err(not_a_voter(why))
        }
        Some((true, Some(RecusalKind::OwnOrganisation))) => Err(not_a_voter(
            "you are recused: the decision is about your own organisation",
        )),
        Some((true, _)) => Err(not_a_voter(
            "you are recused: you declared a conflict of interest",
        )),
        Some((false, _)) => Ok(person),
    }
}

/// Casts or changes the caller's vote while the vote is open.
pub fn vote(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: CastVote,
) -> Result<Decision, ApiError> {
    let row = visible_row(conn, caller, id)?;
    let person = caller_person(conn, caller)?;
    cast(conn, caller, &row, person, req)?;
    let me = viewer(conn, caller)?;
    reread(conn, &me, id)
}

/// Records the vote of a voter who voted in person (the demo data replays votes cast at a
/// meeting this way), under the same rules as [`vote`].
pub fn vote_for(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    person_id: &str,
    req: CastVote,
) -> Result<(), ApiError> {
    let row = find_row(conn, id)?;
    cast(conn, caller, &row, Some(person_id.to_owned()), req)
}

/// One vote, cast or changed by a voter of an open vote.
fn cast(
    conn: &mut DbConn,
    caller: &Caller,
    row: &DecisionRow,
    person: Option<String>,
    req: CastVote,
) -> Result<(), ApiError> {
    let id = row.id.as_str();
    let t = now();
    let person = open_voter(conn, person, row, t)?;
    let open_now = d::table
        .filter(d::id.eq(id))
        .filter(d::status.eq(DecisionStatus::Open))
        .filter(d::deadline.gt(t))
        .select(d::id);
    let rows = diesel::update(
        dv::table
            .filter(dv::decision_id.eq_any(open_now))
            .filter(dv::decision_id.eq(id))
            .filter(dv::person_id.eq(&person))
            .filter(dv::recused.eq(false)),
    )
    .set((dv::choice.eq(req.choice), dv::voted_at.eq(t)))
    .execute(conn)?;
    if rows == 0 {
        return Err(voting_closed("the vote closed meanwhile"));
    }
    // The audit trail says who voted, never how (a secret ballot keeps it so).
    audit::record(
        conn,
        &caller.actor(),
        "decision.voted",
        "decision",
        id,
        json!({"person_id": person}),
    )?;
    Ok(())
}

/// A voter declares a conflict of interest: recused, any vote of theirs removed. The quorum's
/// base stays the count at the opening.
pub fn recuse(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: DeclareConflict,
) -> Result<Decision, ApiError> {
    let row = visible_row(conn, caller, id)?;
    let mut v = crate::validation::Validator::new();
    v.text("reason", req.reason.trim(), 1000);
    v.finish()?;
    let t = now();
    // A voter whose organisation stopped voting may still step aside.
    let me = caller_person(conn, caller)?;
    let person = voter_of_open_vote(conn, me, &row, t)?;
    let rows = diesel::update(
        dv::table
            .filter(dv::decision_id.eq(id))
            .filter(dv::person_id.eq(&person))
            .filter(dv::recused.eq(false)),
    )
    .set((
        dv::recused.eq(true),
        dv::recusal_kind.eq(RecusalKind::Declared),
        dv::recusal_reason.eq(req.reason.trim()),
        dv::recused_at.eq(t),
        dv::choice.eq(None::<VoteChoice>),
        dv::voted_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    won_race(rows)?;
    audit::record(
        conn,
        &caller.actor(),
        "decision.recused",
        "decision",
        id,
        json!({"person_id": person, "kind": "declared", "reason": req.reason.trim()}),
    )?;
    let me = viewer(conn, caller)?;
    reread(conn, &me, id)
}

/// The votes as the caller is shown them.
pub fn votes(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Votes, ApiError> {
    let row = visible_row(conn, caller, id)?;
    let me = caller_person(conn, caller)?;
    let voters = voters_of(conn, &[row.id.as_str()])?
        .remove(row.id.as_str())
        .unwrap_or_default();
    let eff = effective(&row, &voters, now());
    let closed = matches!(
        eff.status,
        DecisionStatus::Adopted | DecisionStatus::Rejected
    );
    let shown = policy::votes_shown(closed, row.secret_ballot);
    let mine = me
        .as_deref()
        .and_then(|person| voters.iter().find(|v| v.person_id.as_str() == person));
    let my_vote = mine.and_then(|v| v.choice);
    let as_vote = |v: &Voter, erase: bool| Vote {
        person_id: v.person_id.clone(),
        name: v.name.clone(),
        choice: if erase { None } else { v.choice },
        voted_at: v.voted_at.map(|t| t.and_utc()),
    };
    let list: Vec<Vote> = match shown {
        VotesShown::OwnOnly => mine
            .filter(|v| v.voted_at.is_some())
            .map(|v| vec![as_vote(v, false)])
            .unwrap_or_default(),
        VotesShown::Everyone => voters
            .iter()
            .filter(|v| v.voted_at.is_some())
            .map(|v| as_vote(v, false))
            .collect(),
        VotesShown::CountsOnly => Vec::new(),
    };
    // A secret ballot read past its deadline, before the close is stored: the caller's own vote
    // is erased as the close will erase it.
    let my_vote = if shown == VotesShown::CountsOnly {
        None
    } else {
        my_vote
    };
    Ok(Votes {
        decision_id: row.id.clone(),
        status: eff.status,
        closed,
        eligible_count: row.eligible_count,
        voted_count: i32::try_from(voters.iter().filter(|v| v.voted_at.is_some()).count())
            .unwrap_or(i32::MAX),
        result: eff.result,
        my_vote,
        votes: list,
    })
}

#[derive(Debug, Default, Clone)]
pub struct DecisionsFilter {
    pub body_id: Option<Id>,
    pub status: Option<DecisionStatus>,
    pub kind: Option<DecisionKind>,
    pub subject_organisation_id: Option<Id>,
    pub subject_agreement_id: Option<Id>,
    /// The decisions proposed at this meeting.
    pub meeting_id: Option<Id>,
}

/// Decisions in the order they were proposed (ids are time-ordered). Admins see all; others the
/// decisions of bodies they sit in today. A `status` filter matches the status as read (an open
/// vote past its deadline is adopted or rejected).
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    f: &DecisionsFilter,
    page: &PageRequest,
) -> Result<Page<Decision>, ApiError> {
    let me = viewer(conn, caller)?;
    let t = now();
    let mut q = d::table.select(DecisionRow::as_select()).into_boxed();
    if !policy::sees_all_decisions(caller) {
        let Some(person) = me.person.clone() else {
            return Ok(page.page(Vec::<Decision>::new(), |r| vec![r.id.to_string()], |r| r));
        };
        let on = today();
        q = q.filter(
            d::body_id.eq_any(
                bm::table
                    .filter(bm::person_id.eq(person))
                    .filter(bm::from_date.le(on))
                    .filter(bm::to_date.is_null().or(bm::to_date.ge(on)))
                    .select(bm::body_id),
            ),
        );
    }
    if let Some(v) = &f.body_id {
        q = q.filter(d::body_id.eq(v.clone()));
    }
    if let Some(v) = f.status {
        q = match v {
            DecisionStatus::Open => q
                .filter(d::status.eq(DecisionStatus::Open))
                .filter(d::deadline.gt(t)),
            // Closed as read: stored so, or open past the deadline (the result is judged below).
            DecisionStatus::Adopted | DecisionStatus::Rejected => q.filter(
                d::status
                    .eq(v)
                    .or(d::status.eq(DecisionStatus::Open).and(d::deadline.le(t))),
            ),
            other => q.filter(d::status.eq(other)),
        };
    }
    if let Some(v) = f.kind {
        q = q.filter(d::kind.eq(v));
    }
    if let Some(v) = &f.subject_organisation_id {
        q = q.filter(d::subject_organisation_id.eq(v.clone()));
    }
    if let Some(v) = &f.subject_agreement_id {
        q = q.filter(d::subject_agreement_id.eq(v.clone()));
    }
    if let Some(v) = &f.meeting_id {
        q = q.filter(d::meeting_id.eq(v.clone()));
    }
    if let Some(after) = page.after_one() {
        q = q.filter(d::id.gt(after.to_owned()));
    }
    let rows: Vec<DecisionRow> = q.order(d::id.asc()).limit(page.fetch()).load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut voters = voters_of(conn, &ids)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mine = voters.remove(row.id.as_str()).unwrap_or_default();
        out.push(assemble(conn, &me, row, mine, t)?);
    }
    // The cursor follows the rows read; a vote past its deadline whose result is not the one
    // asked for is left out of the page after that (a page may hold fewer than `limit`).
    let mut listed = page.page(out, |r| vec![r.id.to_string()], |r| r);
    if let Some(status) = f.status {
        listed.items.retain(|d| d.status == status);
    }
    Ok(listed)
}

/// Stores the closes of votes past their deadline and sends their results; sends the one
/// reminder to voters who have not voted when a deadline is less than a day away. Safe on every
/// instance at once: each close and each reminder is claimed by a conditional update.
pub fn job(conn: &mut DbConn, mailer: &Mailer) -> Result<usize, ApiError> {
    run_due(conn, mailer, now())
}

/// [`job`] as of `at`.
pub fn run_due(conn: &mut DbConn, mailer: &Mailer, at: NaiveDateTime) -> Result<usize, ApiError> {
    let mut queued = 0;
    let due: Vec<DecisionRow> = d::table
        .filter(d::status.eq(DecisionStatus::Open))
        .filter(d::deadline.le(at))
        .order(d::deadline.asc())
        .select(DecisionRow::as_select())
        .load(conn)?;
    for row in &due {
        let closed_at = row.deadline.unwrap_or(at);
        queued += store_close(conn, mailer, &Actor::system(), row, None, closed_at)?.unwrap_or(0);
    }
    let soon = at + TimeDelta::hours(REMIND_WITHIN_HOURS);
    let remind: Vec<DecisionRow> = d::table
        .filter(d::status.eq(DecisionStatus::Open))
        .filter(d::reminded_at.is_null())
        .filter(d::deadline.gt(at))
        .filter(d::deadline.le(soon))
        .select(DecisionRow::as_select())
        .load(conn)?;
    for row in &remind {
        let claimed = diesel::update(
            d::table
                .filter(d::id.eq(&row.id))
                .filter(d::reminded_at.is_null())
                .filter(d::status.eq(DecisionStatus::Open)),
        )
        .set(d::reminded_at.eq(at))
        .execute(conn)?;
        if claimed == 0 {
            continue;
        }
        let waiting: Vec<String> = dv::table
            .filter(dv::decision_id.eq(&row.id))
            .filter(dv::recused.eq(false))
            .filter(dv::voted_at.is_null())
            .order(dv::person_id.asc())
            .select(dv::person_id)
            .load(conn)?;
        let body_name: String = b::table
            .filter(b::id.eq(&row.body_id))
            .select(b::name)
            .first(conn)?;
        let values: Value = json!({
            "body": body_name, "title": row.title, "reference": row.reference,
            "deadline": format_time(row.deadline.unwrap_or(at)),
            "link": mailer.link(&format!("/api/v1/decisions/{}", row.id)),
        });
        for to in recipients_for(conn, &waiting)? {
            queued += usize::from(
                enqueue(conn, mailer, Kind::VoteReminder, &to, values.clone())?.is_some(),
            );
        }
    }
    Ok(queued)
}

/// Voters who have not voted are reminded once, when the deadline is this close.
pub const REMIND_WITHIN_HOURS: i64 = 24;
