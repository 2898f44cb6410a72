//! Webhooks in the database: subscriptions (`webhook_subscriptions` with their kinds of events in
//! `webhook_subscription_events`), the outbox of deliveries (`webhook_deliveries`, one per
//! subscription and event, queued by [`emit`] in the transaction of the change that caused the
//! event) and every attempt (`webhook_attempts`). The worker claims due deliveries with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so instances sharing a database never send one twice
//! at once.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use serde_json::Value;

use super::model::{
    Attempt, CreateSubscription, Delivery, DeliveryKind, DeliveryState, EventType,
    SUBSCRIPTIONS_MAX, Subscription, UpdateSubscription, envelope, validate_new, validate_update,
};
use super::signature::new_secret;
use crate::audit;
use crate::auth::Caller;
use crate::core::{Id, new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::{IfMatch, Page, PageRequest, won_race};
use crate::schema::{
    webhook_attempts as wa, webhook_deliveries as wd, webhook_subscription_events as wse,
    webhook_subscriptions as ws,
};

// ---- Emitting events ------------------------------------------------------------------------

/// Queues `kind` with `data` for every active subscription to it; call inside the transaction of
/// the change the event tells of, so an event is sent exactly when its change is kept. Costs one
/// indexed read when nobody subscribes. Returns how many deliveries were queued.
pub fn emit(conn: &mut DbConn, kind: EventType, data: Value) -> Result<usize, ApiError> {
    emit_with(conn, kind, |_| Ok(data))
}

/// Like [`emit`], with the event's data read only when someone subscribes to `kind`.
pub fn emit_with(
    conn: &mut DbConn,
    kind: EventType,
    data: impl FnOnce(&mut DbConn) -> Result<Value, ApiError>,
) -> Result<usize, ApiError> {
    let subscribers: Vec<String> = wse::table
        .inner_join(ws::table)
        .filter(wse::event_type.eq(kind))
        .filter(ws::active.eq(true))
        .select(wse::subscription_id)
        .load(conn)?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    let data = data(conn)?;
    let (event_id, t) = (new_id(), now());
    let kind = DeliveryKind::from(kind);
    let payload = envelope(&event_id, kind, t, data).to_string();
    for subscription in &subscribers {
        queue(conn, subscription, &event_id, kind, &payload, t)?;
    }
    Ok(subscribers.len())
}

fn queue(
    conn: &mut DbConn,
    subscription: &str,
    event_id: &str,
    kind: DeliveryKind,
    payload: &str,
    t: NaiveDateTime,
) -> Result<String, ApiError> {
    let id = new_id();
    diesel::insert_into(wd::table)
        .values((
            wd::id.eq(&id),
            wd::subscription_id.eq(subscription),
            wd::event_id.eq(event_id),
            wd::event_type.eq(kind),
            wd::payload.eq(payload),
            wd::state.eq(DeliveryState::Pending),
            wd::next_attempt_at.eq(t),
            wd::created_at.eq(t),
            wd::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(id)
}

// ---- Subscriptions --------------------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = ws)]
struct SubscriptionRow {
    id: Id,
    url: String,
    description: String,
    active: bool,
    created_by: Option<Id>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
}

impl SubscriptionRow {
    fn with(self, mut events: Vec<EventType>) -> Subscription {
        events.sort();
        Subscription {
            id: self.id,
            url: self.url,
            description: self.description,
            events,
            active: self.active,
            created_by: self.created_by,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            version: self.version,
        }
    }
}

/// The subscriptions of these rows with their kinds of events, read in one query.
fn with_events(
    conn: &mut DbConn,
    rows: Vec<SubscriptionRow>,
) -> Result<Vec<Subscription>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut events: HashMap<String, Vec<EventType>> = HashMap::new();
    for (sub, kind) in wse::table
        .filter(wse::subscription_id.eq_any(&ids))
        .select((wse::subscription_id, wse::event_type))
        .load::<(String, EventType)>(conn)?
    {
        events.entry(sub).or_default().push(kind);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let e = events.remove(r.id.as_str()).unwrap_or_default();
            r.with(e)
        })
        .collect())
}

/// One subscription, 404 when there is none.
pub fn get(conn: &mut DbConn, id: &str) -> Result<Subscription, ApiError> {
    let row = ws::table
        .filter(ws::id.eq(id))
        .select(SubscriptionRow::as_select())
        .first::<SubscriptionRow>(conn)?;
    with_events(conn, vec![row])?
        .pop()
        .ok_or(ApiError::NotFound)
}

fn write_events(conn: &mut DbConn, id: &str, events: &[EventType]) -> Result<(), ApiError> {
    diesel::delete(wse::table.filter(wse::subscription_id.eq(id))).execute(conn)?;
    // One statement per kind: MultiConnection has no batch insert (at most seven rows).
    for kind in events {
        diesel::insert_into(wse::table)
            .values((wse::subscription_id.eq(id), wse::event_type.eq(*kind)))
            .execute(conn)?;
    }
    Ok(())
}

/// Creates a subscription with a new secret: the subscription and its secret.
pub fn create(
    conn: &mut DbConn,
    caller: &Caller,
    req: CreateSubscription,
) -> Result<(Subscription, String), ApiError> {
    validate_new(&req)?;
    let count: i64 = ws::table.count().get_result(conn)?;
    if count >= SUBSCRIPTIONS_MAX {
        return Err(ApiError::conflict(format!(
            "there are already {SUBSCRIPTIONS_MAX} subscriptions, the most there may be: \
             delete one, or let one subscription receive more kinds of events"
        )));
    }
    let (id, t, secret) = (new_id(), now(), new_secret());
    diesel::insert_into(ws::table)
        .values((
            ws::id.eq(&id),
            ws::url.eq(req.url.trim()),
            ws::description.eq(req.description.trim()),
            ws::secret.eq(&secret),
            ws::active.eq(req.active.unwrap_or(true)),
            ws::created_by.eq(caller.author()),
            ws::created_at.eq(t),
            ws::updated_at.eq(t),
            ws::version.eq(1),
        ))
        .execute(conn)?;
    write_events(conn, &id, &req.events)?;
    let subscription = get(conn, &id)?;
    audit::created(
        conn,
        &caller.actor(),
        "webhook_subscription",
        &id,
        &subscription,
    )?;
    Ok((subscription, secret))
}

/// Filters of the subscription list.
#[derive(Debug, Default, Clone)]
pub struct SubscriptionsFilter {
    pub active: Option<bool>,
    /// Only subscriptions receiving this kind.
    pub event: Option<EventType>,
}

/// Subscriptions, oldest first.
pub fn list(
    conn: &mut DbConn,
    f: &SubscriptionsFilter,
    page: &PageRequest,
) -> Result<Page<Subscription>, ApiError> {
    let mut q = ws::table.select(SubscriptionRow::as_select()).into_boxed();
    if let Some(active) = f.active {
        q = q.filter(ws::active.eq(active));
    }
    if let Some(kind) = f.event {
        q = q.filter(
            ws::id.eq_any(
                wse::table
                    .filter(wse::event_type.eq(kind))
                    .select(wse::subscription_id),
            ),
        );
    }
    if let Some(after) = page.after_one() {
        q = q.filter(ws::id.gt(after.to_owned()));
    }
    let rows: Vec<SubscriptionRow> = q.order(ws::id.asc()).limit(page.fetch()).load(conn)?;
    let subs = with_events(conn, rows)?;
    Ok(page.page(subs, |s| vec![s.id.to_string()], |s| s))
}

/// Changes a subscription (If-Match on its version); nothing changed keeps the version.
pub fn update(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
    patch: UpdateSubscription,
) -> Result<Subscription, ApiError> {
    let before = get(conn, id)?;
    if_match.check(before.version)?;
    validate_update(&patch)?;
    let mut after = before.clone();
    if let Some(url) = patch.url {
        after.url = url.trim().to_owned();
    }
    if let Some(d) = patch.description {
        after.description = d.trim().to_owned();
    }
    if let Some(mut events) = patch.events {
        events.sort();
        after.events = events;
    }
    if let Some(active) = patch.active {
        after.active = active;
    }
    let Some(changes) = audit::changes(&before, &after) else {
        return Ok(before);
    };
    won_race(
        diesel::update(
            ws::table
                .filter(ws::id.eq(id))
                .filter(ws::version.eq(before.version)),
        )
        .set((
            ws::url.eq(&after.url),
            ws::description.eq(&after.description),
            ws::active.eq(after.active),
            ws::updated_at.eq(now()),
            ws::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    if after.events != before.events {
        write_events(conn, id, &after.events)?;
    }
    audit::updated(conn, &caller.actor(), "webhook_subscription", id, changes)?;
    get(conn, id)
}

/// Deletes a subscription (If-Match on its version); its kinds of events, deliveries and their
/// log go with it by the foreign keys' `ON DELETE CASCADE`.
pub fn delete(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let before = get(conn, id)?;
    if_match.check(before.version)?;
    won_race(
        diesel::delete(
            ws::table
                .filter(ws::id.eq(id))
                .filter(ws::version.eq(before.version)),
        )
        .execute(conn)?,
    )?;
    audit::deleted(conn, &caller.actor(), "webhook_subscription", id, &before)
}

/// Gives a subscription a new secret (the old one stops signing at once): the subscription and
/// the secret.
pub fn rotate_secret(
    conn: &mut DbConn,
    caller: &Caller,
    id: &str,
) -> Result<(Subscription, String), ApiError> {
    let before = get(conn, id)?;
    let secret = new_secret();
    won_race(
        diesel::update(
            ws::table
                .filter(ws::id.eq(id))
                .filter(ws::version.eq(before.version)),
        )
        .set((
            ws::secret.eq(&secret),
            ws::updated_at.eq(now()),
            ws::version.eq(before.version + 1),
        ))
        .execute(conn)?,
    )?;
    audit::record(
        conn,
        &caller.actor(),
        "webhook_subscription.secret_rotated",
        "webhook_subscription",
        id,
        serde_json::json!({}),
    )?;
    Ok((get(conn, id)?, secret))
}

/// Queues a `webhook.test` event for one subscription, sent at once (an inactive subscription
/// holds it, like every delivery, until it is active again).
pub fn send_test(conn: &mut DbConn, caller: &Caller, id: &str) -> Result<Delivery, ApiError> {
    let sub = get(conn, id)?;
    let (event_id, t) = (new_id(), now());
    let payload = envelope(
        &event_id,
        DeliveryKind::Test,
        t,
        serde_json::json!({
            "subscription_id": sub.id,
            "message": "A test event from CONNECT: your endpoint receives and verifies deliveries.",
        }),
    )
    .to_string();
    let delivery = queue(conn, id, &event_id, DeliveryKind::Test, &payload, t)?;
    audit::record(
        conn,
        &caller.actor(),
        "webhook_subscription.tested",
        "webhook_subscription",
        id,
        serde_json::json!({"delivery_id": delivery}),
    )?;
    get_delivery(conn, id, &delivery)
}

// ---- Deliveries -----------------------------------------------------------------------------

#[derive(Queryable, Selectable)]
#[diesel(table_name = wd)]
struct DeliveryRow {
    id: Id,
    subscription_id: Id,
    event_id: Id,
    event_type: DeliveryKind,
    payload: String,
    state: DeliveryState,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_attempt_at: Option<NaiveDateTime>,
    last_status: Option<i32>,
    last_error: Option<String>,
    delivered_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl DeliveryRow {
    fn into_delivery(self, attempt_log: Vec<Attempt>) -> Delivery {
        Delivery {
            id: self.id,
            subscription_id: self.subscription_id,
            event_id: self.event_id,
            event_type: self.event_type,
            next_attempt_at: (self.state == DeliveryState::Pending)
                .then(|| self.next_attempt_at.and_utc()),
            state: self.state,
            attempts: self.attempts,
            last_attempt_at: self.last_attempt_at.map(|t| t.and_utc()),
            last_status: self.last_status,
            last_error: self.last_error,
            delivered_at: self.delivered_at.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
            payload: serde_json::from_str(&self.payload).unwrap_or(Value::Null),
            attempt_log,
        }
    }
}

/// One delivery of a subscription with its log of attempts; 404 when either is missing.
pub fn get_delivery(conn: &mut DbConn, subscription: &str, id: &str) -> Result<Delivery, ApiError> {
    let row = wd::table
        .filter(wd::id.eq(id))
        .filter(wd::subscription_id.eq(subscription))
        .select(DeliveryRow::as_select())
        .first::<DeliveryRow>(conn)?;
    let log = wa::table
        .filter(wa::delivery_id.eq(id))
        .order(wa::attempt.asc())
        .select((
            wa::attempt,
            wa::attempted_at,
            wa::status,
            wa::error,
            wa::duration_ms,
        ))
        .load::<(i32, NaiveDateTime, Option<i32>, Option<String>, i32)>(conn)?
        .into_iter()
        .map(|(attempt, at, status, error, duration_ms)| Attempt {
            attempt,
            attempted_at: at.and_utc(),
            status,
            error,
            duration_ms,
        })
        .collect();
    Ok(row.into_delivery(log))
}

/// Filters of a subscription's delivery log.
#[derive(Debug, Default, Clone)]
pub struct DeliveriesFilter {
    pub state: Option<DeliveryState>,
    pub event_type: Option<DeliveryKind>,
    pub event_id: Option<Id>,
}

/// A subscription's deliveries, newest first (ids are time-ordered UUIDs).
pub fn deliveries(
    conn: &mut DbConn,
    subscription: &str,
    f: &DeliveriesFilter,
    page: &PageRequest,
) -> Result<Page<Delivery>, ApiError> {
    // 404 for a missing subscription, rather than an empty log.
    ws::table
        .filter(ws::id.eq(subscription))
        .select(ws::id)
        .first::<String>(conn)?;
    let mut q = wd::table
        .filter(wd::subscription_id.eq(subscription))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(state) = f.state {
        q = q.filter(wd::state.eq(state));
    }
    if let Some(kind) = f.event_type {
        q = q.filter(wd::event_type.eq(kind));
    }
    if let Some(event) = &f.event_id {
        q = q.filter(wd::event_id.eq(event.clone()));
    }
    if let Some(after) = page.after_one() {
        q = q.filter(wd::id.lt(after.to_owned()));
    }
    let rows: Vec<DeliveryRow> = q.order(wd::id.desc()).limit(page.fetch()).load(conn)?;
    Ok(page.page(
        rows,
        |r| vec![r.id.to_string()],
        |r| r.into_delivery(Vec::new()),
    ))
}

/// Queues a delivered or failed delivery again, with a fresh budget of attempts; 409 while it
/// is still pending or being sent.
pub fn retry(
    conn: &mut DbConn,
    caller: &Caller,
    subscription: &str,
    id: &str,
) -> Result<Delivery, ApiError> {
    let before = get_delivery(conn, subscription, id)?;
    let t = now();
    let updated = diesel::update(
        wd::table
            .filter(wd::id.eq(id))
            .filter(wd::state.eq_any([DeliveryState::Delivered, DeliveryState::Failed])),
    )
    .set((
        wd::state.eq(DeliveryState::Pending),
        wd::attempts_before_retry.eq(wd::attempts),
        wd::next_attempt_at.eq(t),
        wd::claimed_by.eq(None::<String>),
        wd::updated_at.eq(t),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Err(ApiError::conflict(format!(
            "the delivery is {}: only a delivered or failed one can be sent again",
            before.state
        )));
    }
    audit::record(
        conn,
        &caller.actor(),
        "webhook_delivery.retried",
        "webhook_delivery",
        id,
        serde_json::json!({"state": {"from": before.state, "to": DeliveryState::Pending}}),
    )?;
    get_delivery(conn, subscription, id)
}

// ---- The worker's side ----------------------------------------------------------------------

/// Whether any delivery of an active subscription is due (a read, so an idle worker never takes
/// the write lock, and deliveries held by an inactive subscription do not make it try).
pub fn any_due(conn: &mut DbConn, stale: TimeDelta) -> Result<bool, ApiError> {
    let t = now();
    let due = wd::table
        .filter(wd::subscription_id.eq_any(ws::table.filter(ws::active.eq(true)).select(ws::id)))
        .filter(
            wd::state
                .eq(DeliveryState::Pending)
                .and(wd::next_attempt_at.le(t))
                .or(wd::state
                    .eq(DeliveryState::Sending)
                    .and(wd::claimed_at.lt(t - stale))),
        )
        .select(wd::id)
        .limit(1)
        .load::<String>(conn)?;
    Ok(!due.is_empty())
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    subscription_id: String,
    #[diesel(sql_type = Text)]
    event_id: String,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    payload: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = Integer)]
    attempts_before_retry: i32,
}

/// A claimed delivery: where to send what, signed with which secret, and which attempt this is.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// Attempts since the delivery was last queued by hand (this one included).
    pub attempts_in_budget: i32,
}

const CLAIM_SQL: &str = "UPDATE webhook_deliveries SET state = 'sending', claimed_by = $1, claimed_at = $2, \
     attempts = attempts + 1, updated_at = $2 \
     WHERE id IN (SELECT d.id FROM webhook_deliveries d \
       WHERE ((d.state = 'pending' AND d.next_attempt_at <= $2) OR (d.state = 'sending' AND d.claimed_at < $3)) \
         AND d.subscription_id IN (SELECT s.id FROM webhook_subscriptions s WHERE s.active) \
       ORDER BY d.next_attempt_at, d.id LIMIT $4 {LOCK}) \
     RETURNING id, subscription_id, event_id, event_type, payload, attempts, attempts_before_retry";

/// Claims up to `limit` due deliveries of active subscriptions for `worker`: pending ones whose
/// time has come, and ones a dead worker claimed longer than `stale` ago. Run inside a write
/// transaction.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    limit: i32,
    stale: TimeDelta,
) -> Result<Vec<Claim>, ApiError> {
    let t = now();
    let rows: Vec<ClaimedRow> = crate::db::claim_due(conn, CLAIM_SQL, worker, t, t - stale, limit)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let subs: Vec<&str> = rows.iter().map(|r| r.subscription_id.as_str()).collect();
    let targets: HashMap<String, (String, String)> = ws::table
        .filter(ws::id.eq_any(&subs))
        .select((ws::id, ws::url, ws::secret))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, url, secret)| (id, (url, secret)))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let (url, secret) = targets.get(&r.subscription_id)?.clone();
            Some(Claim {
                id: r.id,
                event_id: r.event_id,
                event_type: r.event_type,
                url,
                secret,
                payload: r.payload,
                attempt: r.attempts,
                attempts_in_budget: r.attempts - r.attempts_before_retry,
            })
        })
        .collect())
}

/// What became of an attempt.
#[derive(Debug, Clone)]
pub enum Outcome {
    Delivered,
    RetryAt(NaiveDateTime),
    Failed,
}

/// What one attempt met.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub at: NaiveDateTime,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// Records an attempt and its outcome, unless another worker has claimed the delivery since.
pub fn record(
    conn: &mut DbConn,
    claim: &Claim,
    worker: &str,
    attempt: &AttemptRecord,
    outcome: &Outcome,
) -> Result<(), ApiError> {
    let t = now();
    let target = wd::table
        .filter(wd::id.eq(&claim.id))
        .filter(wd::claimed_by.eq(worker))
        .filter(wd::state.eq(DeliveryState::Sending));
    let common = (
        wd::last_attempt_at.eq(attempt.at),
        wd::last_status.eq(attempt.status),
        wd::last_error.eq(attempt.error.as_deref()),
        wd::updated_at.eq(t),
    );
    let updated = match outcome {
        Outcome::Delivered => diesel::update(target)
            .set((
                wd::state.eq(DeliveryState::Delivered),
                wd::delivered_at.eq(Some(t)),
                common,
            ))
            .execute(conn)?,
        Outcome::RetryAt(at) => diesel::update(target)
            .set((
                wd::state.eq(DeliveryState::Pending),
                wd::next_attempt_at.eq(at),
                common,
            ))
            .execute(conn)?,
        Outcome::Failed => diesel::update(target)
            .set((wd::state.eq(DeliveryState::Failed), common))
            .execute(conn)?,
    };
    if updated > 0 {
        diesel::insert_into(wa::table)
            .values((
                wa::id.eq(new_id()),
                wa::delivery_id.eq(&claim.id),
                wa::attempt.eq(claim.attempt),
                wa::attempted_at.eq(attempt.at),
                wa::status.eq(attempt.status),
                wa::error.eq(attempt.error.as_deref()),
                wa::duration_ms.eq(attempt.duration_ms),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Puts back what `worker` claimed and did not record (it is stopping): pending again, due now,
/// the attempt it was counted for undone, so the next start (or another instance) sends it at
/// once instead of after the stale-claim time. Returns how many deliveries it put back.
pub fn release(conn: &mut DbConn, worker: &str) -> Result<usize, ApiError> {
    let t = now();
    Ok(diesel::update(
        wd::table
            .filter(wd::claimed_by.eq(worker))
            .filter(wd::state.eq(DeliveryState::Sending)),
    )
    .set((
        wd::state.eq(DeliveryState::Pending),
        wd::attempts.eq(wd::attempts - 1),
        wd::claimed_by.eq(None::<String>),
        wd::claimed_at.eq(None::<NaiveDateTime>),
        wd::next_attempt_at.eq(t),
        wd::updated_at.eq(t),
    ))
    .execute(conn)?)
}
