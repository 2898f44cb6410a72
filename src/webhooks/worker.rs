//! The delivery worker started by `serve`: claims due deliveries, POSTs them signed, records
//! every attempt. A 2xx answer delivers; anything else (another status, a time-out, a refused
//! connection) is tried again with exponential backoff and jitter up to
//! `CONNECT_WEBHOOK_MAX_ATTEMPTS`, then the delivery is `failed`. Nothing here runs inside a
//! request: a slow or broken receiver never holds up or fails the change that caused the event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use chrono::TimeDelta;

use super::model::clip;
use super::repo::{self, AttemptRecord, Claim, Outcome};
use super::signature::sign;
use crate::config::Settings;
use crate::core::background::{Background, Stopping};
use crate::core::now;
use crate::error::ApiError;
use crate::notifications::worker::backoff;
use crate::state::AppState;

/// Deliveries claimed per round, and sent at once.
pub const BATCH: i32 = 16;

/// How the worker sends: its HTTP client and the settings it follows.
pub struct Sender {
    client: reqwest::Client,
    max_attempts: i32,
    retry_base_secs: u64,
}

impl Sender {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let timeout = Duration::from_secs(settings.webhook_timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("connect-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            client,
            max_attempts: settings.webhook_max_attempts,
            retry_base_secs: settings.webhook_retry_base_secs,
        })
    }

    /// POSTs one claimed delivery; what the attempt met.
    pub async fn send(&self, claim: &Claim) -> AttemptRecord {
        let at = now();
        let started = Instant::now();
        let timestamp = at.and_utc().timestamp();
        let signature = sign(
            &claim.secret,
            &claim.event_id,
            timestamp,
            claim.payload.as_bytes(),
        );
        let sent = self
            .client
            .post(&claim.url)
            .header("content-type", "application/json")
            .header("webhook-id", &claim.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("connect-event-type", &claim.event_type)
            .body(claim.payload.clone())
            .send()
            .await;
        let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        let (status, error) = match sent {
            Ok(res) if res.status().is_success() => (Some(res.status().as_u16() as i32), None),
            Ok(res) => (
                Some(res.status().as_u16() as i32),
                Some(format!("the receiver answered {}", res.status())),
            ),
            Err(e) => (None, Some(clip(&describe(&e)))),
        };
        AttemptRecord {
            at,
            status,
            error,
            duration_ms,
        }
    }

    /// What to do after an attempt.
    pub fn outcome(&self, claim: &Claim, attempt: &AttemptRecord) -> Outcome {
        if attempt.error.is_none() {
            Outcome::Delivered
        } else if claim.attempts_in_budget >= self.max_attempts {
            Outcome::Failed
        } else {
            Outcome::RetryAt(now() + backoff(self.retry_base_secs, claim.attempts_in_budget))
        }
    }
}

/// A transport error in words a receiver's owner can act on (no internal detail of ours).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the receiver did not answer in time".into()
    } else if e.is_connect() {
        "could not connect to the receiver".into()
    } else if e.is_redirect() {
        "the receiver redirected; redirects are not followed".into()
    } else {
        format!("the request failed: {e}")
    }
}

/// How long a claim may stay unanswered before another worker takes the delivery over.
pub fn stale_after(settings: &Settings) -> TimeDelta {
    TimeDelta::seconds(settings.webhook_timeout_secs as i64 * 3 + 30)
}

/// Starts the worker as one of the server's background loops. When the service stops it finishes
/// the deliveries it is sending, starts no more, and puts back any it claimed and did not send, so
/// the next start (or another instance) sends them at once rather than after the stale-claim time.
pub fn spawn(background: &mut Background, state: web::Data<AppState>) -> Result<(), String> {
    let sender = Arc::new(Sender::new(&state.settings)?);
    let worker_id = format!("webhooks-{}", crate::core::new_id());
    background.spawn("webhook worker", move |mut stopping| async move {
        let poll = Duration::from_millis(state.settings.webhook_poll_ms);
        while !stopping.is_stopping() {
            match drain_once(&state, &sender, &worker_id, &stopping).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook worker round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stopping.wait() => {}
            }
        }
        let id = worker_id.clone();
        match state.db.write(move |conn| repo::release(conn, &id)).await {
            Ok(released) => tracing::info!(released, "webhook worker stopped"),
            Err(e) => {
                tracing::warn!(error = %e, "webhook worker stopped; its claims wait for the stale time")
            }
        }
    });
    Ok(())
}

/// Claims one batch and sends it; returns how many deliveries were claimed. Once `stopping` says
/// so, no further delivery of the batch is started (those in flight finish); the ones left stay
/// claimed for [`repo::release`].
pub async fn drain_once(
    state: &AppState,
    sender: &Arc<Sender>,
    worker_id: &str,
    stopping: &Stopping,
) -> Result<usize, ApiError> {
    let stale = stale_after(&state.settings);
    if !state
        .db
        .read(move |conn| repo::any_due(conn, stale))
        .await?
    {
        return Ok(0);
    }
    let id = worker_id.to_owned();
    let claims = state
        .db
        .write(move |conn| repo::claim(conn, &id, BATCH, stale))
        .await?;
    let count = claims.len();
    stopping
        .run_each(claims, BATCH as usize, |claim| {
            deliver(state, sender, worker_id, claim)
        })
        .await?;
    Ok(count)
}

async fn deliver(
    state: &AppState,
    sender: &Arc<Sender>,
    worker_id: &str,
    claim: Claim,
) -> Result<(), ApiError> {
    let attempt = sender.send(&claim).await;
    let outcome = sender.outcome(&claim, &attempt);
    match &outcome {
        Outcome::Delivered => state.metrics.webhook_delivered(&claim.event_type),
        Outcome::Failed => {
            tracing::warn!(delivery = %claim.id, error = ?attempt.error, "webhook delivery failed after its last attempt");
            state.metrics.webhook_failed(&claim.event_type);
        }
        Outcome::RetryAt(_) => {}
    }
    let wid = worker_id.to_owned();
    state
        .db
        .write(move |conn| repo::record(conn, &claim, &wid, &attempt, &outcome))
        .await
}
