//! Database access for scheduling polls. Every write runs in the request's transaction with its
//! audit event and e-mails. Answers are taken only while a conditional update finds the poll
//! open (so a close on another instance either comes first and refuses them, or waits for
//! them); closing and scheduling are conditional updates on the status and version read, so two
//! concurrent schedules give one meeting and the other 409 (its meeting rolled back).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::json;

use super::model::{
    ANSWER_PURPOSE, CreatePoll, MAX_PARTICIPANTS, Participant, Poll, PollAnswer, PollByLink,
    PollStatus, PollSummary, SchedulePoll, SetAnswers, Slot, check_guest, check_slots, check_text,
    rank, tally,
};
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, PollsListed};
use crate::bodies::repo::{caller_person, seats_of};
use crate::core::{Actor, BodyRole, BodyStatus, Id, MeetingKind, now, today};
use crate::db::{DbConn, seek_after};
use crate::error::{ApiError, ProblemType};
use crate::http::{Page, PageRequest};
use crate::meetings::model::{CreateMeeting, DEFAULT_TIME_ZONE, Meeting, clean, to_local, zone};
use crate::meetings::repo::{NewInvitee, create_inviting, members_of};
use crate::notifications::{Kind, Language, Mailer, Recipient, enqueue};
use crate::schema::{
    bodies as b, body_members as bm, people as p, poll_answers as pa, poll_participants as pp,
    poll_slots as ps, scheduling_polls as sp, users as u,
};

/// A poll as stored.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = sp)]
pub struct PollRow {
    pub id: Id,
    pub title: String,
    pub description: String,
    pub body_id: Option<Id>,
    pub time_zone: String,
    pub status: PollStatus,
    pub meeting_id: Option<Id>,
    pub closes_at: Option<NaiveDateTime>,
    pub created_by: Option<String>,
    pub created_by_person_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub language: Language,
}

impl PollRow {
    /// The status as read: an open poll past its `closes_at` reads closed.
    fn status_now(&self) -> PollStatus {
        match (self.status, self.closes_at) {
            (PollStatus::Open, Some(c)) if c <= now() => PollStatus::Closed,
            (s, _) => s,
        }
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = ps)]
struct SlotRow {
    id: Id,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
}

/// A participant, with the person's name and address.
#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = pp)]
struct ParticipantRow {
    id: Id,
    poll_id: Id,
    person_id: Option<Id>,
    #[diesel(select_expression = p::name.nullable())]
    person_name: Option<String>,
    #[diesel(select_expression = p::email.nullable())]
    person_email: Option<String>,
    guest_name: Option<String>,
    guest_email: Option<String>,
}

impl ParticipantRow {
    fn name(&self) -> String {
        self.person_name
            .clone()
            .or_else(|| self.guest_name.clone())
            .unwrap_or_default()
    }
    fn address(&self) -> Option<&str> {
        self.person_email.as_deref().or(self.guest_email.as_deref())
    }
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = pa)]
struct AnswerRow {
    participant_id: Id,
    slot_id: Id,
    answer: PollAnswer,
}

/// Who is asking about one poll.
struct Access {
    /// The caller's seats in the poll's body (`None`: a poll without a body).
    seats: Option<Vec<BodyRole>>,
    created_it: bool,
    /// The caller's own participation.
    participant: Option<Id>,
}

fn find_row(conn: &mut DbConn, id: &str) -> Result<PollRow, ApiError> {
    sp::table
        .filter(sp::id.eq(id))
        .select(PollRow::as_select())
        .load::<PollRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)
}

fn access(conn: &mut DbConn, caller: &Caller, row: &PollRow) -> Result<Access, ApiError> {
    let person = caller_person(conn, caller)?;
    let seats = match (&row.body_id, &person) {
        (None, _) => None,
        (Some(body), Some(person)) => Some(seats_of(conn, person, body.as_str(), today())?),
        (Some(_), None) => Some(Vec::new()),
    };
    let participant = match &person {
        Some(person) => pp::table
            .filter(pp::poll_id.eq(row.id.as_str()))
            .filter(pp::person_id.eq(person))
            .select(pp::id)
            .load::<Id>(conn)?
            .into_iter()
            .next(),
        None => None,
    };
    let created_it = caller
        .author()
        .is_some_and(|me| row.created_by.as_deref() == Some(me));
    Ok(Access {
        seats,
        created_it,
        participant,
    })
}

/// The poll the caller may see (404 otherwise), with their access.
fn visible(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(PollRow, Access), ApiError> {
    let row = find_row(conn, id)?;
    let a = access(conn, caller, &row)?;
    policy::see_poll(
        caller,
        a.seats.as_deref(),
        a.created_it,
        a.participant.is_some(),
    )?;
    Ok((row, a))
}

fn slot_rows(conn: &mut DbConn, poll_id: &str) -> Result<Vec<SlotRow>, ApiError> {
    Ok(ps::table
        .filter(ps::poll_id.eq(poll_id))
        .order((ps::starts_at.asc(), ps::ends_at.asc(), ps::id.asc()))
        .select(SlotRow::as_select())
        .load(conn)?)
}

/// A poll's participants: people by name, then guests by name.
fn participant_rows(conn: &mut DbConn, poll_id: &str) -> Result<Vec<ParticipantRow>, ApiError> {
    let mut rows: Vec<ParticipantRow> = pp::table
        .left_join(p::table)
        .filter(pp::poll_id.eq(poll_id))
        .select(ParticipantRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| {
        (a.person_id.is_none(), a.name(), a.id.as_str()).cmp(&(
            b.person_id.is_none(),
            b.name(),
            b.id.as_str(),
        ))
    });
    Ok(rows)
}

fn answer_rows(conn: &mut DbConn, poll_id: &str) -> Result<Vec<AnswerRow>, ApiError> {
    Ok(pa::table
        .inner_join(pp::table)
        .filter(pp::poll_id.eq(poll_id))
        .select(AnswerRow::as_select())
        .load(conn)?)
}

/// The slots with their tallies, by time, and their ranking.
fn slots_tallied(
    row: &PollRow,
    slots: &[SlotRow],
    answers: &[AnswerRow],
    participants: i64,
) -> (Vec<Slot>, Vec<Id>) {
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    let out: Vec<Slot> = slots
        .iter()
        .map(|s| Slot {
            id: s.id.clone(),
            starts_at: s.starts_at.and_utc(),
            ends_at: s.ends_at.and_utc(),
            local_start: to_local(s.starts_at, tz),
            local_end: to_local(s.ends_at, tz),
            tally: tally(
                answers
                    .iter()
                    .filter(|a| a.slot_id == s.id)
                    .map(|a| &a.answer),
                participants,
            ),
        })
        .collect();
    let best = rank(&out);
    (out, best)
}

fn answers_of(answers: &[AnswerRow], participant: &str) -> BTreeMap<String, PollAnswer> {
    answers
        .iter()
        .filter(|a| a.participant_id.as_str() == participant)
        .map(|a| (a.slot_id.to_string(), a.answer))
        .collect()
}

/// The poll as its managers and participants see it.
fn view(
    conn: &mut DbConn,
    row: PollRow,
    show_emails: bool,
    mine: Option<Id>,
) -> Result<Poll, ApiError> {
    let slots = slot_rows(conn, &row.id)?;
    let people = participant_rows(conn, &row.id)?;
    let answers = answer_rows(conn, &row.id)?;
    let (slots, best_slots) = slots_tallied(&row, &slots, &answers, people.len() as i64);
    let participants = people
        .into_iter()
        .map(|r| Participant {
            answers: answers_of(&answers, &r.id),
            name: r.name(),
            guest: r.person_id.is_none(),
            email: r.guest_email.filter(|_| show_emails),
            person_id: r.person_id,
            id: r.id,
        })
        .collect();
    Ok(Poll {
        status: row.status_now(),
        id: row.id,
        body_id: row.body_id,
        title: row.title,
        description: row.description,
        time_zone: row.time_zone,
        language: row.language,
        closes_at: row.closes_at.map(|t| t.and_utc()),
        meeting_id: row.meeting_id,
        slots,
        participants,
        best_slots,
        my_participant_id: mine,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        version: row.version,
    })
}

/// One poll the caller may see.
pub fn get(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Poll, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    let show = policy::manages_poll(caller, a.seats.as_deref());
    view(conn, row, show, a.participant)
}

/// The name the invitations give for whoever runs the poll.
fn organizer_name(conn: &mut DbConn, caller: &Caller, mailer: &Mailer) -> Result<String, ApiError> {
    let fallback = || mailer.from.name.clone().unwrap_or_else(|| "CONNECT".into());
    Ok(match caller.author() {
        Some(user) => u::table
            .filter(u::id.eq(user))
            .select(u::display_name)
            .load::<String>(conn)?
            .into_iter()
            .next()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(fallback),
        None => fallback(),
    })
}

/// Queues a `poll_invitation` to each participant, with their signed link to the answer page
/// (valid until `closes_at`, or the last slot's end).
fn invite(
    conn: &mut DbConn,
    mailer: &Mailer,
    row: &PollRow,
    organizer: &str,
    slots: &[(NaiveDateTime, NaiveDateTime)],
) -> Result<(), ApiError> {
    let last_end = slots
        .iter()
        .map(|(_, e)| *e)
        .max()
        .unwrap_or(row.created_at);
    let expires = row.closes_at.unwrap_or(last_end).and_utc();
    let tz = zone(&row.time_zone, "time_zone").unwrap_or(chrono_tz::UTC);
    let closes = row.closes_at.map(|c| {
        format!(
            "{} ({})",
            to_local(c, tz).format("%Y-%m-%d %H:%M"),
            row.time_zone
        )
    });
    for who in participant_rows(conn, &row.id)? {
        let Some(address) = who.address() else {
            continue;
        };
        let user_id: Option<String> = match &who.person_id {
            Some(person) => u::table
                .filter(u::person_id.eq(person.as_str()))
                .filter(u::active.eq(true))
                .select(u::id)
                .load(conn)?
                .into_iter()
                .next(),
            None => None,
        };
        let to = Recipient {
            email: address.to_owned(),
            name: Some(who.name()),
            user_id,
            language: row.language,
        };
        let token = mailer.sign_expiring(ANSWER_PURPOSE, &[row.id.as_str(), &who.id], expires);
        enqueue(
            conn,
            mailer,
            Kind::PollInvitation,
            &to,
            json!({
                "name": to.greeting_name(),
                "organizer": organizer,
                "title": row.title,
                "slots": slots.len(),
                "closes": closes,
                "link": mailer.link(&format!("/polls/answer?token={token}")),
            }),
        )?;
    }
    Ok(())
}

/// Creates a poll with its slots and participants, and e-mails each participant their link.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: Id,
    req: CreatePoll,
) -> Result<Poll, ApiError> {
    let person = caller_person(conn, caller)?;
    match &req.body_id {
        Some(body) => {
            let status: Option<BodyStatus> = b::table
                .filter(b::id.eq(body))
                .select(b::status)
                .load(conn)?
                .into_iter()
                .next();
            let Some(status) = status else {
                return Err(ApiError::invalid("body_id", "not_found", "no such body"));
            };
            let seats = match &person {
                Some(person) => seats_of(conn, person, body.as_str(), today())?,
                None => Vec::new(),
            };
            policy::manage_poll(caller, Some(&seats))?;
            if status != BodyStatus::Active {
                return Err(ApiError::invalid(
                    "body_id",
                    "dissolved",
                    "the body is dissolved: it holds no new meetings",
                ));
            }
        }
        None => {
            policy::manage_poll(caller, None)?;
            if req.invite_members == Some(true) {
                return Err(ApiError::invalid(
                    "invite_members",
                    "no_body",
                    "a poll without a body has no members to ask",
                ));
            }
        }
    }
    let tz_name = req
        .time_zone
        .as_deref()
        .map(str::trim)
        .unwrap_or(DEFAULT_TIME_ZONE)
        .to_owned();
    let tz = zone(&tz_name, "time_zone")?;
    let t = now();
    let slots = check_slots(&req.slots, tz, t)?;
    let title = req.title.trim().to_owned();
    let description = req.description.unwrap_or_default().trim().to_owned();
    check_text(&title, &description)?;
    let closes_at = req.closes_at.map(|c| c.naive_utc());
    if closes_at.is_some_and(|c| c <= t) {
        return Err(ApiError::invalid(
            "closes_at",
            "in_the_past",
            "must be in the future",
        ));
    }
    // The people asked: each one visible to the caller, each once.
    let mut people: Vec<String> = Vec::new();
    for (i, person_id) in req.people.unwrap_or_default().iter().enumerate() {
        match crate::people::repo::get_visible(conn, caller, person_id) {
            Ok(found) => {
                let found = found.id.to_string();
                if !people.contains(&found) {
                    people.push(found);
                }
            }
            Err(ApiError::NotFound) => {
                return Err(ApiError::invalid(
                    &format!("people[{i}]"),
                    "not_found",
                    "no such person",
                ));
            }
            Err(e) => return Err(e),
        }
    }
    if let (Some(body), Some(true)) = (&req.body_id, req.invite_members) {
        for member in members_of(conn, body.as_str(), today())? {
            if !people.contains(&member) {
                people.push(member);
            }
        }
    }
    let mut guests: Vec<(String, String)> = Vec::new();
    for (i, g) in req.guests.unwrap_or_default().iter().enumerate() {
        let field = format!("guests[{i}]");
        let (name, email) = check_guest(g, &field)?;
        if guests
            .iter()
            .any(|(_, e)| e.to_lowercase() == email.to_lowercase())
        {
            return Err(ApiError::invalid(
                &format!("{field}.email"),
                "duplicate",
                "this guest is already asked",
            ));
        }
        guests.push((name, email));
    }
    if people.is_empty() && guests.is_empty() {
        return Err(ApiError::invalid(
            "people",
            "required",
            "ask at least one person or guest",
        ));
    }
    if people.len() + guests.len() > MAX_PARTICIPANTS {
        return Err(ApiError::invalid(
            "people",
            "too_many",
            format!("ask at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    diesel::insert_into(sp::table)
        .values((
            sp::id.eq(&id),
            sp::title.eq(&title),
            sp::description.eq(&description),
            sp::body_id.eq(&req.body_id),
            sp::time_zone.eq(tz.name()),
            sp::status.eq(PollStatus::Open),
            sp::closes_at.eq(closes_at),
            sp::created_by.eq(caller.author()),
            sp::created_by_person_id.eq(&person),
            sp::created_at.eq(t),
            sp::updated_at.eq(t),
            sp::version.eq(1),
            sp::language.eq(req.language.unwrap_or(Language::Nb)),
        ))
        .execute(conn)?;
    for (start, end) in &slots {
        diesel::insert_into(ps::table)
            .values((
                ps::id.eq(Id::new()),
                ps::poll_id.eq(&id),
                ps::starts_at.eq(start),
                ps::ends_at.eq(end),
            ))
            .execute(conn)?;
    }
    for person in &people {
        diesel::insert_into(pp::table)
            .values((
                pp::id.eq(Id::new()),
                pp::poll_id.eq(&id),
                pp::person_id.eq(Some(person)),
                pp::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    for (name, email) in &guests {
        diesel::insert_into(pp::table)
            .values((
                pp::id.eq(Id::new()),
                pp::poll_id.eq(&id),
                pp::guest_name.eq(Some(name)),
                pp::guest_email.eq(Some(email)),
                pp::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    let row = find_row(conn, &id)?;
    let mine = access(conn, caller, &row)?.participant;
    let poll = view(conn, row.clone(), true, mine)?;
    audit::created(conn, &caller.actor(), "scheduling_poll", &id, &poll)?;
    let organizer = organizer_name(conn, caller, mailer)?;
    invite(conn, mailer, &row, &organizer, &slots)?;
    Ok(poll)
}

/// Filters of the list of polls.
#[derive(Debug, Default, Clone)]
pub struct PollsFilter {
    pub status: Option<PollStatus>,
    pub body_id: Option<Id>,
}

/// The polls the caller sees (the secretariat: all; others: those they created, take part in,
/// or whose body they manage), oldest first.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    filter: &PollsFilter,
    page: &PageRequest,
) -> Result<Page<PollSummary>, ApiError> {
    let after = page.after_keyed::<NaiveDateTime>()?;
    let mut q = sp::table.select(PollRow::as_select()).into_boxed();
    if policy::polls_listed(caller) == PollsListed::OwnOnly {
        let person = caller_person(conn, caller)?;
        let (asked, managed): (Vec<String>, Vec<String>) = match &person {
            Some(person) => {
                let asked = pp::table
                    .filter(pp::person_id.eq(person))
                    .select(pp::poll_id)
                    .load(conn)?;
                let t = today();
                let seats: Vec<(String, BodyRole)> = bm::table
                    .filter(bm::person_id.eq(person))
                    .filter(bm::from_date.le(t))
                    .filter(bm::to_date.is_null().or(bm::to_date.ge(t)))
                    .select((bm::body_id, bm::role))
                    .load(conn)?;
                let managed = seats
                    .into_iter()
                    .filter(|(_, role)| policy::manages_body(caller, &[*role]))
                    .map(|(body, _)| body)
                    .collect();
                (asked, managed)
            }
            None => (Vec::new(), Vec::new()),
        };
        let me = caller.author().unwrap_or("").to_owned();
        q = q.filter(
            sp::created_by
                .eq(me)
                .or(sp::id.eq_any(asked))
                .or(sp::body_id.eq_any(managed)),
        );
    }
    if let Some(body) = &filter.body_id {
        q = q.filter(sp::body_id.eq(body.as_str().to_owned()));
    }
    let t = now();
    match filter.status {
        None => {}
        Some(PollStatus::Open) => {
            q = q
                .filter(sp::status.eq(PollStatus::Open))
                .filter(sp::closes_at.is_null().or(sp::closes_at.gt(t)));
        }
        Some(PollStatus::Closed) => {
            q = q.filter(
                sp::status
                    .eq(PollStatus::Closed)
                    .or(sp::status.eq(PollStatus::Open).and(sp::closes_at.le(t))),
            );
        }
        Some(PollStatus::Scheduled) => q = q.filter(sp::status.eq(PollStatus::Scheduled)),
    }
    let q = seek_after!(q, after, sp::created_at, sp::id);
    let rows: Vec<PollRow> = q
        .order((sp::created_at.asc(), sp::id.asc()))
        .limit(page.fetch())
        .load(conn)?;
    let listed = page.page(
        rows,
        |r| {
            vec![
                r.created_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
                r.id.to_string(),
            ]
        },
        |r| r,
    );
    let ids: Vec<String> = listed.items.iter().map(|r| r.id.to_string()).collect();
    let slot_counts: HashMap<String, i64> = if ids.is_empty() {
        HashMap::new()
    } else {
        ps::table
            .filter(ps::poll_id.eq_any(&ids))
            .group_by(ps::poll_id)
            .select((ps::poll_id, count_star()))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect()
    };
    let participant_counts: HashMap<String, i64> = if ids.is_empty() {
        HashMap::new()
    } else {
        pp::table
            .filter(pp::poll_id.eq_any(&ids))
            .group_by(pp::poll_id)
            .select((pp::poll_id, count_star()))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(Page {
        items: listed
            .items
            .into_iter()
            .map(|r| PollSummary {
                status: r.status_now(),
                slot_count: slot_counts.get(r.id.as_str()).copied().unwrap_or(0),
                participant_count: participant_counts.get(r.id.as_str()).copied().unwrap_or(0),
                id: r.id,
                body_id: r.body_id,
                title: r.title,
                time_zone: r.time_zone,
                closes_at: r.closes_at.map(|t| t.and_utc()),
                meeting_id: r.meeting_id,
                created_at: r.created_at.and_utc(),
                version: r.version,
            })
            .collect(),
        next_cursor: listed.next_cursor,
    })
}

fn poll_closed(row: &PollRow) -> ApiError {
    let why = match row.status_now() {
        PollStatus::Scheduled => "the poll is scheduled: it was turned into a meeting",
        _ if row.status == PollStatus::Open => "the poll is past its closing time",
        _ => "the poll is closed",
    };
    ApiError::conflict_of(ProblemType::PollClosed, why)
}

/// Records a participant's answers: only while the poll is open, which a conditional update of
/// the poll's row checks in this transaction (and which makes a concurrent close wait or refuse
/// these). Slots not named keep their answers; a slot not of this poll is 422.
fn record_answers(
    conn: &mut DbConn,
    actor: &Actor,
    row: &PollRow,
    participant_id: &str,
    req: SetAnswers,
) -> Result<(), ApiError> {
    if req.answers.is_empty() {
        return Err(ApiError::invalid(
            "answers",
            "required",
            "answer at least one slot",
        ));
    }
    let slots: HashSet<String> = slot_rows(conn, &row.id)?
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    if let Some(unknown) = req.answers.keys().find(|k| !slots.contains(k.as_str())) {
        return Err(ApiError::invalid(
            &format!("answers.{unknown}"),
            "unknown_slot",
            "not a slot of this poll",
        ));
    }
    let t = now();
    let open = diesel::update(
        sp::table
            .filter(sp::id.eq(row.id.as_str()))
            .filter(sp::status.eq(PollStatus::Open))
            .filter(sp::closes_at.is_null().or(sp::closes_at.gt(t))),
    )
    .set(sp::updated_at.eq(t))
    .execute(conn)?;
    if open == 0 {
        return Err(poll_closed(&find_row(conn, &row.id)?));
    }
    let before: BTreeMap<String, PollAnswer> = pa::table
        .filter(pa::participant_id.eq(participant_id))
        .select((pa::slot_id, pa::answer))
        .load::<(String, PollAnswer)>(conn)?
        .into_iter()
        .collect();
    let mut changes = serde_json::Map::new();
    for (slot, answer) in &req.answers {
        let old = before.get(slot);
        if old == Some(answer) {
            continue;
        }
        diesel::delete(
            pa::table
                .filter(pa::participant_id.eq(participant_id))
                .filter(pa::slot_id.eq(slot)),
        )
        .execute(conn)?;
        diesel::insert_into(pa::table)
            .values((
                pa::participant_id.eq(participant_id),
                pa::slot_id.eq(slot),
                pa::answer.eq(answer),
                pa::updated_at.eq(t),
            ))
            .execute(conn)?;
        changes.insert(
            format!("answers.{slot}"),
            json!({"from": old, "to": answer}),
        );
    }
    if !changes.is_empty() {
        audit::record(
            conn,
            actor,
            "poll_participant.answered",
            "poll_participant",
            participant_id,
            serde_json::Value::Object(changes),
        )?;
    }
    Ok(())
}

/// A signed-in participant's answers.
pub fn set_answers(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    req: SetAnswers,
) -> Result<Poll, ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::answer_poll(a.participant.is_some())?;
    let me = a.participant.clone().ok_or(ApiError::NotFound)?;
    record_answers(conn, &caller.actor(), &row, &me, req)?;
    let row = find_row(conn, id)?;
    let show = policy::manages_poll(caller, a.seats.as_deref());
    view(conn, row, show, Some(me))
}

struct ByLink {
    poll: PollRow,
    participant: ParticipantRow,
}

/// The poll and participant a link names (404: forged, expired, or a participant since removed).
fn open_link(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Result<ByLink, ApiError> {
    let fields = mailer
        .open_expiring(ANSWER_PURPOSE, token)
        .ok_or(ApiError::NotFound)?;
    let [poll_id, participant_id] = fields.as_slice() else {
        return Err(ApiError::NotFound);
    };
    let participant = pp::table
        .left_join(p::table)
        .filter(pp::id.eq(participant_id))
        .filter(pp::poll_id.eq(poll_id))
        .select(ParticipantRow::as_select())
        .load::<ParticipantRow>(conn)?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)?;
    let poll = find_row(conn, &participant.poll_id)?;
    Ok(ByLink { poll, participant })
}

fn link_view(conn: &mut DbConn, found: ByLink) -> Result<PollByLink, ApiError> {
    let row = found.poll;
    let slots = slot_rows(conn, &row.id)?;
    let answers = answer_rows(conn, &row.id)?;
    let participants: i64 = pp::table
        .filter(pp::poll_id.eq(row.id.as_str()))
        .count()
        .get_result(conn)?;
    let (slots, best_slots) = slots_tallied(&row, &slots, &answers, participants);
    Ok(PollByLink {
        status: row.status_now(),
        poll_id: row.id,
        title: row.title,
        description: row.description,
        time_zone: row.time_zone,
        language: row.language,
        closes_at: row.closes_at.map(|t| t.and_utc()),
        name: found.participant.name(),
        slots,
        answers: answers_of(&answers, &found.participant.id),
        best_slots,
    })
}

/// What a participant's link shows: the slots with the tally, their own answers.
pub fn get_by_link(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
) -> Result<PollByLink, ApiError> {
    let found = open_link(conn, mailer, token)?;
    link_view(conn, found)
}

/// Answers given through a participant's link, as that participant (the audit's actor).
pub fn set_by_link(
    conn: &mut DbConn,
    mailer: &Mailer,
    token: &str,
    req: SetAnswers,
) -> Result<PollByLink, ApiError> {
    let found = open_link(conn, mailer, token)?;
    let actor = Actor {
        kind: "poll_participant",
        id: Some(found.participant.id.to_string()),
        request_id: None,
    };
    record_answers(conn, &actor, &found.poll, &found.participant.id, req)?;
    let found = ByLink {
        poll: find_row(conn, &found.poll.id)?,
        participant: found.participant,
    };
    link_view(conn, found)
}

/// The language of the poll a link is for (its answer page's), if the link is good.
pub fn language_of_link(conn: &mut DbConn, mailer: &Mailer, token: &str) -> Option<Language> {
    open_link(conn, mailer, token).ok().map(|f| f.poll.language)
}

/// The poll the caller may see and manage (404 / 403 otherwise).
fn managed(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<(PollRow, Access), ApiError> {
    let (row, a) = visible(conn, caller, id)?;
    policy::manage_poll(caller, a.seats.as_deref())?;
    Ok((row, a))
}

/// Closes an open poll (one past its closing time too): it takes no more answers.
pub fn close(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Poll, ApiError> {
    let (row, a) = managed(conn, caller, id)?;
    if row.status != PollStatus::Open {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            format!("the poll is {}; only an open poll closes", row.status),
        ));
    }
    let t = now();
    let n = diesel::update(
        sp::table
            .filter(sp::id.eq(id))
            .filter(sp::status.eq(PollStatus::Open))
            .filter(sp::version.eq(row.version)),
    )
    .set((
        sp::status.eq(PollStatus::Closed),
        sp::updated_at.eq(t),
        sp::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the poll changed meanwhile; read it again",
        ));
    }
    audit::record(
        conn,
        &caller.actor(),
        "scheduling_poll.closed",
        "scheduling_poll",
        id,
        json!({"status": {"from": "open", "to": "closed"}}),
    )?;
    let row = find_row(conn, id)?;
    view(conn, row, true, a.participant)
}

/// Turns the poll into a meeting at one of its slots, inviting its participants (people and
/// guests, with their calendar invitations): a body's meeting for a body's poll (its members are
/// not added), an open event for the secretariat's own. The poll becomes `scheduled` by a
/// conditional update on the status and version read, so of two concurrent schedules one wins
/// and the other answers 409, its meeting rolled back with it.
pub fn schedule(
    conn: &mut DbConn,
    caller: &Caller,
    mailer: &Mailer,
    id: &str,
    meeting_id: Id,
    req: SchedulePoll,
) -> Result<Meeting, ApiError> {
    let (row, _) = managed(conn, caller, id)?;
    if row.status == PollStatus::Scheduled {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the poll is already scheduled",
        ));
    }
    let slot = slot_rows(conn, id)?
        .into_iter()
        .find(|s| s.id == req.slot_id)
        .ok_or_else(|| ApiError::invalid("slot_id", "not_found", "not a slot of this poll"))?;
    if slot.starts_at <= now() {
        return Err(ApiError::invalid(
            "slot_id",
            "in_the_past",
            "this slot has already begun",
        ));
    }
    let tz = zone(&row.time_zone, "time_zone")?;
    let invitees: Vec<NewInvitee> = participant_rows(conn, id)?
        .into_iter()
        .filter_map(|r| match (r.person_id, r.guest_name, r.guest_email) {
            (Some(person), _, _) => Some(NewInvitee::Person(person.to_string())),
            (None, Some(name), Some(email)) => Some(NewInvitee::Guest { name, email }),
            _ => None,
        })
        .collect();
    let meeting_req = CreateMeeting {
        kind: Some(if row.body_id.is_some() {
            MeetingKind::BodyMeeting
        } else {
            MeetingKind::OpenEvent
        }),
        body_id: row.body_id.clone(),
        title: clean(req.title).unwrap_or_else(|| row.title.clone()),
        description: Some(row.description.clone()),
        start: to_local(slot.starts_at, tz),
        end: to_local(slot.ends_at, tz),
        time_zone: Some(row.time_zone.clone()),
        place: req.place,
        video_url: req.video_url,
        language: Some(row.language),
        invite_members: Some(false),
        capacity: None,
        rrule: None,
    };
    let meeting = create_inviting(conn, caller, mailer, meeting_id, meeting_req, &invitees)?;
    let t = now();
    let n = diesel::update(
        sp::table
            .filter(sp::id.eq(id))
            .filter(sp::status.eq_any([PollStatus::Open, PollStatus::Closed]))
            .filter(sp::version.eq(row.version)),
    )
    .set((
        sp::status.eq(PollStatus::Scheduled),
        sp::meeting_id.eq(Some(meeting.id.as_str())),
        sp::updated_at.eq(t),
        sp::version.eq(row.version + 1),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(ApiError::conflict_of(
            ProblemType::InvalidTransition,
            "the poll was scheduled or changed meanwhile; read it again",
        ));
    }
    audit::record(
        conn,
        &caller.actor(),
        "scheduling_poll.scheduled",
        "scheduling_poll",
        id,
        json!({
            "status": {"from": row.status, "to": "scheduled"},
            "meeting_id": {"from": null, "to": meeting.id},
            "slot_id": slot.id,
        }),
    )?;
    Ok(meeting)
}
