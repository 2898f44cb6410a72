//! The outbox in the database.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use serde_json::Value;

use super::model::{Kind, Language, Notification, NotificationPreferences, State};
use super::templates::Mailer;
use super::transport::Outgoing;
use crate::core::{Id, new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::{Page, PageRequest};
use crate::schema::{notification_preferences as np, notifications as n, users as u};

/// Who a message goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub language: Language,
}

impl Recipient {
    /// The name to greet them by.
    pub fn greeting_name(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.email)
    }
}

/// What a message to a user account needs of it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = u)]
struct RecipientRow {
    id: String,
    email: String,
    display_name: String,
    language: String,
}

impl TryFrom<RecipientRow> for Recipient {
    type Error = ApiError;
    fn try_from(r: RecipientRow) -> Result<Self, ApiError> {
        Ok(Recipient {
            email: r.email,
            name: Some(r.display_name),
            user_id: Some(r.id),
            language: r.language.parse()?,
        })
    }
}

/// The recipient behind a user account.
pub fn recipient_for_user(conn: &mut DbConn, user_id: &str) -> Result<Recipient, ApiError> {
    u::table
        .filter(u::id.eq(user_id))
        .select(RecipientRow::as_select())
        .first::<RecipientRow>(conn)?
        .try_into()
}

/// The active representatives of an organisation.
pub fn representatives(
    conn: &mut DbConn,
    organisation_id: &str,
) -> Result<Vec<Recipient>, ApiError> {
    let rows: Vec<RecipientRow> = u::table
        .filter(u::organisation_id.eq(organisation_id))
        .filter(u::active.eq(true))
        .order(u::id.asc())
        .select(RecipientRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Recipient::try_from).collect()
}

/// The secretariat: every active admin account.
pub fn secretariat(conn: &mut DbConn) -> Result<Vec<Recipient>, ApiError> {
    let rows: Vec<RecipientRow> = u::table
        .filter(u::role.eq(crate::auth::Role::Admin))
        .filter(u::active.eq(true))
        .order(u::id.asc())
        .select(RecipientRow::as_select())
        .load(conn)?;
    rows.into_iter().map(Recipient::try_from).collect()
}

/// A company's representatives and the secretariat, each once: who hears about its agreements,
/// caps and cohorts.
pub fn company_and_secretariat(
    conn: &mut DbConn,
    organisation_id: &str,
) -> Result<Vec<Recipient>, ApiError> {
    let mut all = representatives(conn, organisation_id)?;
    for admin in secretariat(conn)? {
        if !all.iter().any(|r| r.email == admin.email) {
            all.push(admin);
        }
    }
    Ok(all)
}

/// Whether a user receives an optional kind (no row: yes).
pub fn wants(conn: &mut DbConn, user_id: &str, kind: Kind) -> Result<bool, ApiError> {
    if !kind.is_optional() {
        return Ok(true);
    }
    let enabled: Option<bool> = np::table
        .filter(np::user_id.eq(user_id))
        .filter(np::kind.eq(kind.as_str()))
        .select(np::enabled)
        .first(conn)
        .optional()?;
    Ok(enabled.unwrap_or(true))
}

/// Writes a message to the outbox, in the caller's transaction. Optional kinds are skipped for
/// people who opted out (returns `None`).
pub fn enqueue(
    conn: &mut DbConn,
    mailer: &Mailer,
    kind: Kind,
    to: &Recipient,
    values: Value,
) -> Result<Option<String>, ApiError> {
    enqueue_with_calendar(conn, mailer, kind, to, values, None)
}

/// [`enqueue`] with an iCalendar object (RFC 5546, CRLF line ends) sent as a `text/calendar`
/// part and an `invite.ics` attachment.
pub fn enqueue_with_calendar(
    conn: &mut DbConn,
    mailer: &Mailer,
    kind: Kind,
    to: &Recipient,
    values: Value,
    calendar: Option<String>,
) -> Result<Option<String>, ApiError> {
    if let Some(user_id) = &to.user_id
        && !wants(conn, user_id, kind)?
    {
        return Ok(None);
    }
    let mut values = values;
    if let Some(map) = values.as_object_mut() {
        map.entry("name")
            .or_insert_with(|| Value::String(to.greeting_name().to_owned()));
    }
    let rendered = mailer.render(kind, to.language, &values)?;
    let id = new_id();
    let t = now();
    diesel::insert_into(n::table)
        .values((
            n::id.eq(&id),
            n::kind.eq(kind.as_str()),
            n::recipient_email.eq(&to.email),
            n::recipient_name.eq(&to.name),
            n::recipient_user_id.eq(&to.user_id),
            n::language.eq(to.language.as_str()),
            n::subject.eq(&rendered.subject),
            n::body_text.eq(&rendered.text),
            n::body_html.eq(&rendered.html),
            n::message_id.eq(mailer.message_id(&id)),
            n::state.eq(State::Pending.as_str()),
            n::attempts.eq(0),
            n::next_attempt_at.eq(t),
            n::created_at.eq(t),
            n::updated_at.eq(t),
            n::calendar.eq(&calendar),
        ))
        .execute(conn)?;
    Ok(Some(id))
}

/// A message as listed (without its bodies).
#[derive(Queryable, Selectable)]
#[diesel(table_name = n)]
struct NotificationRow {
    id: Id,
    kind: String,
    recipient_email: String,
    recipient_user_id: Option<Id>,
    language: String,
    subject: String,
    state: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    message_id: String,
    created_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
}

impl TryFrom<NotificationRow> for Notification {
    type Error = ApiError;
    fn try_from(r: NotificationRow) -> Result<Self, ApiError> {
        Ok(Notification {
            id: r.id,
            kind: Kind::parse(&r.kind).ok_or_else(|| {
                ApiError::internal(format!("unknown notification kind {}", r.kind))
            })?,
            recipient_email: r.recipient_email,
            recipient_user_id: r.recipient_user_id,
            language: r.language.parse()?,
            subject: r.subject,
            state: r.state.parse()?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.and_utc(),
            last_error: r.last_error,
            message_id: r.message_id,
            created_at: r.created_at.and_utc(),
            sent_at: r.sent_at.map(|t| t.and_utc()),
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct NotificationFilter {
    /// Only this user's messages (non-admins).
    pub user_id: Option<String>,
    pub state: Option<State>,
    pub kind: Option<Kind>,
    pub recipient: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Newest first.
pub fn list(
    conn: &mut DbConn,
    f: &NotificationFilter,
    page: &PageRequest,
) -> Result<Page<Notification>, ApiError> {
    let mut q = n::table.select(NotificationRow::as_select()).into_boxed();
    if let Some(v) = &f.user_id {
        q = q.filter(n::recipient_user_id.eq(v.clone()));
    }
    if let Some(v) = f.state {
        q = q.filter(n::state.eq(v.as_str()));
    }
    if let Some(v) = f.kind {
        q = q.filter(n::kind.eq(v.as_str()));
    }
    if let Some(v) = &f.recipient {
        q = q.filter(n::recipient_email.eq(v.trim().to_lowercase()));
    }
    if let Some(v) = f.since {
        q = q.filter(n::created_at.ge(v));
    }
    if let Some(v) = f.until {
        q = q.filter(n::created_at.lt(v));
    }
    if let Some(after) = page.after_one() {
        q = q.filter(n::id.lt(after.to_owned()));
    }
    let rows: Vec<NotificationRow> = q.order(n::id.desc()).limit(page.fetch()).load(conn)?;
    let rows = rows
        .into_iter()
        .map(Notification::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], |r| r))
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Notification, ApiError> {
    n::table
        .filter(n::id.eq(id))
        .select(NotificationRow::as_select())
        .first::<NotificationRow>(conn)?
        .try_into()
}

/// Puts a failed message back in the queue (admins).
pub fn retry(conn: &mut DbConn, id: &str) -> Result<Notification, ApiError> {
    let t = now();
    let updated = diesel::update(
        n::table
            .filter(n::id.eq(id))
            .filter(n::state.eq(State::Failed.as_str())),
    )
    .set((
        n::state.eq(State::Pending.as_str()),
        n::attempts.eq(0),
        n::next_attempt_at.eq(t),
        n::updated_at.eq(t),
    ))
    .execute(conn)?;
    if updated == 0 {
        find(conn, id)?;
        return Err(ApiError::conflict("only failed messages can be retried"));
    }
    find(conn, id)
}

/// The number of messages waiting to be sent.
pub fn backlog(conn: &mut DbConn) -> Result<i64, ApiError> {
    Ok(n::table
        .filter(n::state.eq_any([State::Pending.as_str(), State::Sending.as_str()]))
        .count()
        .get_result(conn)?)
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    recipient_email: String,
    #[diesel(sql_type = Nullable<Text>)]
    recipient_name: Option<String>,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    body_text: String,
    #[diesel(sql_type = Text)]
    body_html: String,
    #[diesel(sql_type = Text)]
    message_id: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    calendar: Option<String>,
}

/// A claimed message: what to send, and how many attempts it has had (this one included).
pub struct Claim {
    pub message: Outgoing,
    pub kind: String,
    pub attempts: i32,
}

const CLAIM_SQL: &str = "UPDATE notifications SET state = 'sending', claimed_by = $1, claimed_at = $2, \
     attempts = attempts + 1, updated_at = $2 \
     WHERE id IN (SELECT id FROM notifications \
       WHERE (state = 'pending' AND next_attempt_at <= $2) OR (state = 'sending' AND claimed_at < $3) \
       ORDER BY next_attempt_at, id LIMIT $4 {LOCK}) \
     RETURNING id, kind, recipient_email, recipient_name, subject, body_text, body_html, message_id, attempts, calendar";

/// Claims up to `limit` due messages for `worker`: pending ones whose time has come, and ones a
/// dead worker claimed longer than `stale` ago. Run inside a write transaction.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    limit: i32,
    stale: TimeDelta,
) -> Result<Vec<Claim>, ApiError> {
    let t = now();
    let rows: Vec<Claimed> = crate::db::claim_due(conn, CLAIM_SQL, worker, t, t - stale, limit)?;
    Ok(rows
        .into_iter()
        .map(|r| Claim {
            kind: r.kind,
            attempts: r.attempts,
            message: Outgoing {
                id: r.id,
                to_email: r.recipient_email,
                to_name: r.recipient_name,
                subject: r.subject,
                text: r.body_text,
                html: r.body_html,
                message_id: r.message_id,
                calendar: r.calendar,
            },
        })
        .collect())
}

/// Puts back what `worker` claimed and did not record (it is stopping): pending again, due now,
/// the attempt it was counted for undone. Returns how many messages it put back.
pub fn release(conn: &mut DbConn, worker: &str) -> Result<usize, ApiError> {
    let t = now();
    Ok(diesel::update(
        n::table
            .filter(n::claimed_by.eq(worker))
            .filter(n::state.eq(State::Sending.as_str())),
    )
    .set((
        n::state.eq(State::Pending.as_str()),
        n::claimed_by.eq(None::<String>),
        n::claimed_at.eq(None::<NaiveDateTime>),
        n::attempts.eq(n::attempts - 1),
        n::next_attempt_at.eq(t),
        n::updated_at.eq(t),
    ))
    .execute(conn)?)
}

/// What became of an attempt.
pub enum Outcome {
    Sent,
    RetryAt(NaiveDateTime, String),
    Failed(String),
}

/// Records an attempt's outcome, unless another worker has claimed the message since.
pub fn record(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    outcome: &Outcome,
) -> Result<(), ApiError> {
    let t = now();
    let target = n::table
        .filter(n::id.eq(id))
        .filter(n::claimed_by.eq(worker))
        .filter(n::state.eq(State::Sending.as_str()));
    match outcome {
        Outcome::Sent => diesel::update(target)
            .set((
                n::state.eq(State::Sent.as_str()),
                n::sent_at.eq(t),
                n::last_error.eq(None::<String>),
                n::updated_at.eq(t),
            ))
            .execute(conn)?,
        Outcome::RetryAt(at, error) => diesel::update(target)
            .set((
                n::state.eq(State::Pending.as_str()),
                n::next_attempt_at.eq(at),
                n::last_error.eq(error),
                n::updated_at.eq(t),
            ))
            .execute(conn)?,
        Outcome::Failed(error) => diesel::update(target)
            .set((
                n::state.eq(State::Failed.as_str()),
                n::last_error.eq(error),
                n::updated_at.eq(t),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// A user's preferences (defaults where none are stored).
pub fn preferences(conn: &mut DbConn, user_id: &str) -> Result<NotificationPreferences, ApiError> {
    let language: String = u::table
        .filter(u::id.eq(user_id))
        .select(u::language)
        .first(conn)?;
    Ok(NotificationPreferences {
        language: language.parse()?,
        membership_changed: wants(conn, user_id, Kind::MembershipChanged)?,
        agreement_status_changed: wants(conn, user_id, Kind::AgreementStatusChanged)?,
        cap_threshold: wants(conn, user_id, Kind::CapThreshold)?,
        cohort_stage_changed: wants(conn, user_id, Kind::CohortStageChanged)?,
        evaluations_due: wants(conn, user_id, Kind::EvaluationsDue)?,
        vote_opened: wants(conn, user_id, Kind::VoteOpened)?,
        vote_reminder: wants(conn, user_id, Kind::VoteReminder)?,
        vote_result: wants(conn, user_id, Kind::VoteResult)?,
        meeting_reminder: wants(conn, user_id, Kind::MeetingReminder)?,
        action_item_due: wants(conn, user_id, Kind::ActionItemDue)?,
    })
}

/// Replaces a user's preferences. The language is part of the account, so a new one makes a new
/// version of it (its `ETag` changes); the same language leaves the account as it is.
pub fn set_preferences(
    conn: &mut DbConn,
    user_id: &str,
    p: &NotificationPreferences,
) -> Result<(), ApiError> {
    let t = now();
    diesel::update(
        u::table
            .filter(u::id.eq(user_id))
            .filter(u::language.ne(p.language.as_str())),
    )
    .set((
        u::language.eq(p.language.as_str()),
        u::updated_at.eq(t),
        u::version.eq(u::version + 1),
    ))
    .execute(conn)?;
    // Stored preferences of kinds no longer offered are left alone and never read.
    for (kind, enabled) in p.choices() {
        diesel::delete(
            np::table
                .filter(np::user_id.eq(user_id))
                .filter(np::kind.eq(kind.as_str())),
        )
        .execute(conn)?;
        diesel::insert_into(np::table)
            .values((
                np::user_id.eq(user_id),
                np::kind.eq(kind.as_str()),
                np::enabled.eq(enabled),
                np::updated_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}
