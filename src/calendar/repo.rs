//! Calendar feeds in the database: one live feed per person (`calendar_feeds_live`), its secret
//! stored as its SHA-256; rotating revokes the old one.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::dsl::max;
use diesel::prelude::*;

use super::model::CalendarFeed;
use crate::audit;
use crate::auth::{Caller, policy, random_token, token_hash};
use crate::bodies::repo::caller_person;
use crate::core::{Id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::meetings::model::Meeting;
use crate::meetings::repo::{InviteeRow, MeetingRow};
use crate::schema::{calendar_feeds as cf, meeting_invitees as mi, meetings as m, people as p};

/// The caller's person, who the feed is for.
fn person(conn: &mut DbConn, caller: &Caller) -> Result<String, ApiError> {
    let person = caller_person(conn, caller)?;
    policy::own_calendar_feed(caller, person.is_some())?;
    person.ok_or(ApiError::NotFound)
}

fn revoke_live(conn: &mut DbConn, person: &str, t: NaiveDateTime) -> Result<usize, ApiError> {
    Ok(diesel::update(
        cf::table
            .filter(cf::person_id.eq(person))
            .filter(cf::revoked_at.is_null()),
    )
    .set(cf::revoked_at.eq(Some(t)))
    .execute(conn)?)
}

/// Creates the caller's feed, revoking the one before: the secret and when.
pub fn create(conn: &mut DbConn, caller: &Caller) -> Result<(String, NaiveDateTime), ApiError> {
    let person = person(conn, caller)?;
    let t = now();
    let rotated = revoke_live(conn, &person, t)? > 0;
    let secret = random_token();
    let id = Id::new();
    diesel::insert_into(cf::table)
        .values((
            cf::id.eq(&id),
            cf::person_id.eq(&person),
            cf::token_hash.eq(token_hash(&secret)),
            cf::created_at.eq(t),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        &caller.actor(),
        if rotated {
            "calendar_feed.rotated"
        } else {
            "calendar_feed.created"
        },
        "calendar_feed",
        &id,
        serde_json::json!({"person_id": {"from": null, "to": person}}),
    )?;
    Ok((secret, t))
}

/// Whether the caller has a live feed.
pub fn get(conn: &mut DbConn, caller: &Caller) -> Result<CalendarFeed, ApiError> {
    let person = person(conn, caller)?;
    let live: Option<(NaiveDateTime, Option<NaiveDateTime>)> = cf::table
        .filter(cf::person_id.eq(&person))
        .filter(cf::revoked_at.is_null())
        .select((cf::created_at, cf::last_used_at))
        .first(conn)
        .optional()?;
    Ok(CalendarFeed {
        exists: live.is_some(),
        created_at: live.map(|(c, _)| c.and_utc()),
        last_used_at: live.and_then(|(_, u)| u).map(|u| u.and_utc()),
    })
}

/// Revokes the caller's feed (404 when there is none).
pub fn revoke(conn: &mut DbConn, caller: &Caller) -> Result<(), ApiError> {
    let person = person(conn, caller)?;
    let id: Option<String> = cf::table
        .filter(cf::person_id.eq(&person))
        .filter(cf::revoked_at.is_null())
        .select(cf::id)
        .first(conn)
        .optional()?;
    let Some(id) = id else {
        return Err(ApiError::NotFound);
    };
    revoke_live(conn, &person, now())?;
    audit::record(
        conn,
        &caller.actor(),
        "calendar_feed.revoked",
        "calendar_feed",
        &id,
        serde_json::json!({"revoked": {"from": false, "to": true}}),
    )?;
    Ok(())
}

/// What a feed shows: every meeting its person is invited to (and the occurrences changed alone
/// of the series among them), each with its invitees, and the latest change (the feed's stamp).
pub struct Feed {
    pub meetings: Vec<(Meeting, Vec<InviteeRow>)>,
    pub changed: NaiveDateTime,
    /// The feed's id when its use is to be noted ([`touch`]): not noted for an hour.
    pub touch: Option<String>,
}

impl Feed {
    /// A digest of everything the feed's calendar is written from (each meeting's fields that
    /// the file shows, its version and last change; each invitee's answer, name and address),
    /// with `salt` (what else the file holds, e.g. the organiser): the strong ETag, known before
    /// the calendar is rendered, so a 304 costs no rendering.
    pub fn fingerprint(&self, salt: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let text = |h: &mut Sha256, t: &str| {
            h.update(t.as_bytes());
            h.update([0]);
        };
        text(&mut h, salt);
        h.update(self.changed.and_utc().timestamp_micros().to_le_bytes());
        for (m, invitees) in &self.meetings {
            for t in [
                m.id.as_str(),
                m.uid.as_str(),
                m.title.as_str(),
                m.description.as_str(),
                m.time_zone.as_str(),
                m.status.as_str(),
                m.place.as_deref().unwrap_or(""),
                m.video_url.as_deref().unwrap_or(""),
                m.rrule.as_deref().unwrap_or(""),
                m.series_id.as_ref().map_or("", |s| s.as_str()),
            ] {
                text(&mut h, t);
            }
            for t in [
                Some(m.starts_at),
                Some(m.ends_at),
                m.occurrence_of,
                Some(m.updated_at),
            ] {
                h.update(t.map_or(i64::MIN, |t| t.timestamp_micros()).to_le_bytes());
            }
            h.update(m.version.to_le_bytes());
            h.update(m.sequence.to_le_bytes());
            h.update((invitees.len() as u64).to_le_bytes());
            for i in invitees {
                for t in [
                    i.id.as_str(),
                    i.response.as_str(),
                    i.person_name.as_deref().unwrap_or(""),
                    i.person_email.as_deref().unwrap_or(""),
                ] {
                    text(&mut h, t);
                }
                h.update(i.version.to_le_bytes());
            }
        }
        format!("\"{:x}\"", h.finalize())
    }
}

/// Notes that a feed was used (at most once an hour, whatever instance is asked): a write of its
/// own, so that reading feeds stays a read (on SQLite, reads run side by side; writes queue).
pub fn touch(conn: &mut DbConn, feed_id: &str) -> Result<(), ApiError> {
    let t = now();
    diesel::update(
        cf::table.filter(cf::id.eq(feed_id)).filter(
            cf::last_used_at
                .is_null()
                .or(cf::last_used_at.lt(t - TimeDelta::hours(1))),
        ),
    )
    .set(cf::last_used_at.eq(Some(t)))
    .execute(conn)?;
    Ok(())
}

/// The feed behind a secret (404 when unknown or revoked), with whether its use is to be noted.
pub fn feed(conn: &mut DbConn, secret: &str) -> Result<Feed, ApiError> {
    let live: Option<(String, String, NaiveDateTime, Option<NaiveDateTime>)> = cf::table
        .filter(cf::token_hash.eq(token_hash(secret)))
        .filter(cf::revoked_at.is_null())
        .select((cf::id, cf::person_id, cf::created_at, cf::last_used_at))
        .first(conn)
        .optional()?;
    let Some((feed_id, person, created, last_used)) = live else {
        return Err(ApiError::NotFound);
    };
    let touch = last_used
        .is_none_or(|u| u < now() - TimeDelta::hours(1))
        .then_some(feed_id);
    let invited: Vec<String> = mi::table
        .filter(mi::person_id.eq(&person))
        .select(mi::meeting_id)
        .load(conn)?;
    let rows: Vec<MeetingRow> = m::table
        .filter(
            m::id.eq_any(&invited).or(m::series_id
                .eq_any(&invited)
                .and(m::occurrence_of.is_not_null())),
        )
        .order((m::starts_at.asc(), m::id.asc()))
        .select(MeetingRow::as_select())
        .load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let changed: Option<NaiveDateTime> = m::table
        .filter(m::id.eq_any(&ids))
        .select(max(m::updated_at))
        .first(conn)?;
    let invitees: Vec<InviteeRow> = mi::table
        .left_join(p::table)
        .filter(mi::meeting_id.eq_any(&ids))
        // Guests' addresses are for those who manage a meeting, not for every invitee's feed.
        .filter(mi::person_id.is_not_null())
        .order(mi::id.asc())
        .select(InviteeRow::as_select())
        .load(conn)?;
    let mut by_meeting: std::collections::HashMap<Id, Vec<InviteeRow>> =
        std::collections::HashMap::with_capacity(rows.len());
    for i in invitees {
        by_meeting.entry(i.meeting_id.clone()).or_default().push(i);
    }
    let meetings = rows
        .into_iter()
        .map(|row| {
            let mine = by_meeting.remove(&row.id).unwrap_or_default();
            let n = mine.len() as i64;
            (row.into_meeting(n, None), mine)
        })
        .collect();
    Ok(Feed {
        meetings,
        changed: changed.unwrap_or(created).max(created),
        touch,
    })
}
