//! Failed-login limits: per account in the database (shared by every instance), per client address
//! in memory (each instance counts its own).
//!
//! A locked account refuses only the addresses that failed on it within the window (also kept in
//! the database): whoever guesses at an account locks themselves out, not its owner logging in
//! from elsewhere. A request whose address is unknown counts as one that failed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use diesel::prelude::*;

use crate::core::now;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::schema::login_failed_addresses as lfa;
use crate::schema::login_throttle as lt;

/// Failures per account within the window before it is locked for the window.
pub const ACCOUNT_MAX_FAILURES: i32 = 5;
pub const ACCOUNT_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Failures per address within the window before the address must wait.
pub const ADDRESS_MAX_FAILURES: u32 = 30;
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);

pub fn too_many(retry_after_secs: u64) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: retry_after_secs.max(1),
        detail: "too many failed attempts; wait before trying again".into(),
    }
}

/// How an address is recorded against an account (none known: one shared key, which a lock
/// always refuses).
fn address_key(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// Seconds until the account may be tried again from `ip`, if it is locked for that address: the
/// account is locked and the address failed on it within the window.
pub fn account_locked(
    conn: &mut DbConn,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<Option<u64>, ApiError> {
    let until: Option<Option<chrono::NaiveDateTime>> = lt::table
        .filter(lt::account.eq(account))
        .select(lt::locked_until)
        .first(conn)
        .optional()?;
    let now = now();
    let Some(until) = until.flatten().filter(|u| *u > now) else {
        return Ok(None);
    };
    let failed_here: i64 = lfa::table
        .filter(lfa::account.eq(account))
        .filter(lfa::address.eq(address_key(ip)))
        .filter(lfa::last_failed_at.gt(now - ACCOUNT_WINDOW))
        .count()
        .get_result(conn)?;
    Ok((ip.is_none() || failed_here > 0).then(|| (until - now).num_seconds().max(1) as u64))
}

/// An account's failure window.
#[derive(Queryable, Selectable)]
#[diesel(table_name = lt)]
struct Window {
    failures: i32,
    window_started_at: chrono::NaiveDateTime,
}

/// Counts a failure from `ip`; returns the lock's length in seconds when this failure locks the
/// account.
pub fn record_account_failure(
    conn: &mut DbConn,
    account: &str,
    ip: Option<IpAddr>,
) -> Result<Option<u64>, ApiError> {
    let now = now();
    let address = address_key(ip);
    let seen = diesel::update(
        lfa::table
            .filter(lfa::account.eq(account))
            .filter(lfa::address.eq(&address)),
    )
    .set(lfa::last_failed_at.eq(now))
    .execute(conn)?;
    if seen == 0 {
        diesel::insert_into(lfa::table)
            .values((
                lfa::account.eq(account),
                lfa::address.eq(&address),
                lfa::last_failed_at.eq(now),
            ))
            .execute(conn)?;
    }
    let row: Option<Window> = lt::table
        .filter(lt::account.eq(account))
        .select(Window::as_select())
        .first(conn)
        .optional()?;
    let (failures, window) = match row {
        Some(w) if w.window_started_at > now - ACCOUNT_WINDOW => {
            (w.failures + 1, w.window_started_at)
        }
        _ => (1, now),
    };
    let locked_until = (failures >= ACCOUNT_MAX_FAILURES).then(|| now + ACCOUNT_WINDOW);
    let updated = diesel::update(lt::table.filter(lt::account.eq(account)))
        .set((
            lt::failures.eq(failures),
            lt::window_started_at.eq(window),
            lt::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(lt::table)
            .values((
                lt::account.eq(account),
                lt::failures.eq(failures),
                lt::window_started_at.eq(window),
                lt::locked_until.eq(locked_until),
            ))
            .execute(conn)?;
    }
    Ok(locked_until.map(|_| ACCOUNT_WINDOW.num_seconds() as u64))
}

/// After a successful login or password change: the account's count starts again, unless it is
/// locked (the owner logging in from a clean address does not lift the lock for the addresses
/// that caused it). Failed addresses past their window are forgotten.
pub fn clear_account(conn: &mut DbConn, account: &str) -> Result<(), ApiError> {
    let now = now();
    diesel::delete(
        lt::table
            .filter(lt::account.eq(account))
            .filter(lt::locked_until.is_null().or(lt::locked_until.le(now))),
    )
    .execute(conn)?;
    diesel::delete(lfa::table.filter(lfa::last_failed_at.lt(now - ACCOUNT_WINDOW)))
        .execute(conn)?;
    Ok(())
}

/// Per-address failure counts, kept in this instance's memory.
#[derive(Default)]
pub struct AddressThrottle {
    inner: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl AddressThrottle {
    /// Seconds to wait, if the address has failed too often.
    pub fn blocked(&self, ip: IpAddr) -> Option<u64> {
        let map = self.inner.lock().ok()?;
        let (n, start) = map.get(&ip)?;
        let elapsed = start.elapsed();
        (*n >= ADDRESS_MAX_FAILURES && elapsed < ADDRESS_WINDOW)
            .then(|| (ADDRESS_WINDOW - elapsed).as_secs().max(1))
    }

    /// 429 (with the wait) when the address has failed too often.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip.and_then(|ip| self.blocked(ip)) {
            Some(wait) => Err(too_many(wait)),
            None => Ok(()),
        }
    }

    /// Counts a failure for the address when `e` says a one-time link was unknown, used or
    /// expired (so guessing links is throttled like guessing passwords); returns `e`.
    pub fn count_bad_link(&self, ip: Option<IpAddr>, e: ApiError) -> ApiError {
        if matches!(e, ApiError::NotFound)
            && let Some(ip) = ip
        {
            self.fail(ip);
        }
        e
    }

    pub fn fail(&self, ip: IpAddr) {
        if let Ok(mut map) = self.inner.lock() {
            if map.len() > 50_000 {
                map.retain(|_, (_, start)| start.elapsed() < ADDRESS_WINDOW);
            }
            let entry = map.entry(ip).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= ADDRESS_WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_blocks_after_the_limit() {
        let t = AddressThrottle::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..ADDRESS_MAX_FAILURES - 1 {
            t.fail(ip);
        }
        assert!(t.blocked(ip).is_none());
        t.fail(ip);
        assert!(t.blocked(ip).is_some());
        assert!(t.blocked("192.0.2.8".parse().unwrap()).is_none());
    }
}
