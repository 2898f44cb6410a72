//! The outbox worker started by `serve`: claims due messages, sends them, records the outcome.
//! Failures are retried with exponential backoff and jitter up to `CONNECT_MAIL_MAX_ATTEMPTS`;
//! permanent SMTP errors (5xx) are not retried.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::TimeDelta;
use rand::Rng;

use super::Mailer;
use super::repo::{self, Outcome};
use super::transport::{SendError, SmtpSettings, Transport};
use crate::core::background::{Background, Stopping};
use crate::core::now;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::state::AppState;
use lettre::message::Mailbox;

/// Messages claimed per round.
pub const BATCH: i32 = 50;

/// The transport the settings ask for.
pub fn transport(state: &AppState) -> Result<Transport, String> {
    match &state.settings.smtp_url {
        Some(url) => Transport::smtp(
            &SmtpSettings::parse(url.expose())?,
            state.settings.mail_concurrency as u32,
        ),
        None => Ok(Transport::files(state.settings.data_dir.join("mail"))),
    }
}

/// Delay before attempt `attempts + 1`: base · 2^(attempts-1), at most an hour, with jitter
/// (between half and all of it) so retries from many messages do not arrive together.
pub fn backoff(base_secs: u64, attempts: i32) -> TimeDelta {
    if base_secs == 0 {
        return TimeDelta::zero();
    }
    let exp = attempts.clamp(1, 20) as u32 - 1;
    let full = base_secs.saturating_mul(1u64 << exp.min(30)).min(3600) as i64 * 1000;
    let ms = rand::rng().random_range(full / 2..=full);
    TimeDelta::milliseconds(ms)
}

/// A job the worker runs periodically, in a write transaction of its own, handed in by `startup`
/// (the modules that own the jobs sit above this one). It must be safe to run on every instance
/// at once: a job that should happen once per period claims the period in `scheduled_runs`. It
/// returns how many messages it queued.
pub type PeriodicJob = fn(&mut DbConn, &Mailer) -> Result<usize, ApiError>;

/// The periodic jobs run on start and then every this many poll intervals (a minute by default).
pub const JOB_EVERY_POLLS: u32 = 60;

/// Starts the worker as one of the server's background loops. When the service stops it finishes
/// the messages it is sending, starts no more, and puts back any it claimed and did not send
/// (pending again, due now), so the next start (or another instance) sends them at once rather
/// than after `CONNECT_MAIL_CLAIM_TIMEOUT_SECS`.
pub fn spawn(
    background: &mut Background,
    state: web::Data<AppState>,
    mailer: web::Data<Mailer>,
    jobs: Vec<PeriodicJob>,
) -> Result<(), String> {
    let transport = Arc::new(transport(&state)?);
    let worker_id = format!("worker-{}", crate::core::new_id());
    background.spawn("mail worker", move |mut stopping| async move {
        let poll = Duration::from_millis(state.settings.mail_poll_ms);
        let mut jobs_due = tokio::time::Instant::now();
        while !stopping.is_stopping() {
            if tokio::time::Instant::now() >= jobs_due {
                jobs_due = tokio::time::Instant::now() + poll * JOB_EVERY_POLLS;
                run_jobs(&state, &mailer, &jobs).await;
            }
            match drain_once(&state, &mailer.from, &transport, &worker_id, &stopping).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail worker round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = state.mail_wakeup.notified() => {}
                _ = stopping.wait() => {}
            }
        }
        let id = worker_id.clone();
        match state.db.write(move |conn| repo::release(conn, &id)).await {
            Ok(released) => tracing::info!(released, "mail worker stopped"),
            Err(e) => tracing::warn!(error = %e, "mail worker stopped; its claims wait for the stale timeout"),
        }
    });
    Ok(())
}

/// Runs each periodic job once; a failing job is logged and tried again next time.
pub async fn run_jobs(state: &AppState, mailer: &web::Data<Mailer>, jobs: &[PeriodicJob]) {
    for job in jobs.iter().copied() {
        let mailer = mailer.clone();
        match state.db.write(move |conn| job(conn, &mailer)).await {
            Ok(n) if n > 0 => tracing::info!(queued = n, "periodic job queued messages"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "periodic job failed"),
        }
    }
}

/// Claims one batch and sends it; returns how many messages were claimed. Once `stopping` says
/// so, no further message of the batch is started (those in flight finish); the ones left stay
/// claimed for [`repo::release`].
pub async fn drain_once(
    state: &AppState,
    from: &Mailbox,
    transport: &Arc<Transport>,
    worker_id: &str,
    stopping: &Stopping,
) -> Result<usize, ApiError> {
    let stale = TimeDelta::seconds(state.settings.mail_claim_timeout_secs as i64);
    let id = worker_id.to_owned();
    let claims = state
        .db
        .write(move |conn| repo::claim(conn, &id, BATCH, stale))
        .await?;
    let count = claims.len();
    // Several messages of a batch are in flight at once, each on its own pooled connection: the
    // SMTP round trips (and lettre writing the final "." of a message as a separate small packet,
    // which Nagle's algorithm holds until the server's delayed ACK, ~40 ms) bound the rate of one
    // connection, not this process.
    stopping
        .run_each(claims, state.settings.mail_concurrency, |claim| {
            deliver(state, from, transport, worker_id, claim)
        })
        .await?;
    Ok(count)
}

/// Sends one claimed message and records the outcome.
async fn deliver(
    state: &AppState,
    from: &Mailbox,
    transport: &Arc<Transport>,
    worker_id: &str,
    claim: repo::Claim,
) -> Result<(), ApiError> {
    let from = from.clone();
    let t = transport.clone();
    let message = claim.message.clone();
    let sent = web::block(move || t.send(&from, &message))
        .await
        .map_err(|e| ApiError::internal(format!("send task: {e}")))?;
    let outcome = match sent {
        Ok(()) => {
            state.metrics.mail_sent(&claim.kind);
            Outcome::Sent
        }
        Err(SendError::Permanent(e)) => {
            tracing::warn!(notification = %claim.message.id, error = %e, "message refused permanently");
            state.metrics.mail_failed(&claim.kind);
            Outcome::Failed(e)
        }
        Err(SendError::Transient(e)) if claim.attempts >= state.settings.mail_max_attempts => {
            tracing::warn!(notification = %claim.message.id, error = %e, "message failed after the last attempt");
            state.metrics.mail_failed(&claim.kind);
            Outcome::Failed(format!("gave up after {} attempts: {e}", claim.attempts))
        }
        Err(SendError::Transient(e)) => {
            let at = now() + backoff(state.settings.mail_retry_base_secs, claim.attempts);
            Outcome::RetryAt(at, e)
        }
    };
    let (nid, wid) = (claim.message.id.clone(), worker_id.to_owned());
    state
        .db
        .write(move |conn| repo::record(conn, &nid, &wid, &outcome))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        assert_eq!(backoff(0, 3), TimeDelta::zero());
        for attempts in 1..6 {
            let full = 30 * (1i64 << (attempts - 1));
            let d = backoff(30, attempts).num_milliseconds();
            assert!(d >= full * 500 && d <= full * 1000, "{attempts}: {d}");
        }
        assert!(backoff(30, 50).num_seconds() <= 3600);
    }
}
