use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use serde::Serialize;

use super::model::{AuditEvent, diff};
use crate::core::{Actor, Id, new_id, now};
use crate::db::DbConn;
use crate::error::ApiError;
use crate::http::PageRequest;
use crate::schema::audit_events as ae;

/// Writes one audit event; call inside the transaction that makes the change.
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    record_type: &str,
    record_id: &str,
    changes: Value,
) -> Result<(), ApiError> {
    diesel::insert_into(ae::table)
        .values((
            ae::id.eq(new_id()),
            ae::occurred_at.eq(now()),
            ae::actor_kind.eq(actor.kind),
            ae::actor_id.eq(actor.id.as_deref()),
            ae::action.eq(action),
            ae::record_type.eq(record_type),
            ae::record_id.eq(record_id),
            ae::changes.eq(changes.to_string()),
            ae::request_id.eq(actor.request_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records the creation of a record (`<record_type>.created`, every field from nothing).
pub fn created(
    conn: &mut DbConn,
    actor: &Actor,
    record_type: &str,
    record_id: &str,
    after: &impl Serialize,
) -> Result<(), ApiError> {
    let changes = diff(None, Some(&serde_json::json!(after)));
    let action = format!("{record_type}.created");
    record(conn, actor, &action, record_type, record_id, changes)
}

/// Records a change of a record's fields (`<record_type>.updated`).
pub fn updated(
    conn: &mut DbConn,
    actor: &Actor,
    record_type: &str,
    record_id: &str,
    changes: Value,
) -> Result<(), ApiError> {
    let action = format!("{record_type}.updated");
    record(conn, actor, &action, record_type, record_id, changes)
}

/// Records the deletion of a record (`<record_type>.deleted`, every field to nothing).
pub fn deleted(
    conn: &mut DbConn,
    actor: &Actor,
    record_type: &str,
    record_id: &str,
    before: &impl Serialize,
) -> Result<(), ApiError> {
    let changes = diff(Some(&serde_json::json!(before)), None);
    let action = format!("{record_type}.deleted");
    record(conn, actor, &action, record_type, record_id, changes)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub request_id: Option<String>,
}

/// An audit event as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = ae)]
struct EventRow {
    id: Id,
    occurred_at: NaiveDateTime,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    record_type: String,
    record_id: String,
    changes: String,
    request_id: Option<String>,
}

impl From<EventRow> for AuditEvent {
    fn from(r: EventRow) -> Self {
        AuditEvent {
            id: r.id,
            occurred_at: r.occurred_at.and_utc(),
            actor_kind: r.actor_kind,
            actor_id: r.actor_id,
            action: r.action,
            record_type: r.record_type,
            record_id: r.record_id,
            changes: serde_json::from_str(&r.changes).unwrap_or(Value::Null),
            request_id: r.request_id,
        }
    }
}

/// Newest first.
pub fn list(
    conn: &mut DbConn,
    f: &AuditFilter,
    page: &PageRequest,
) -> Result<crate::http::Page<AuditEvent>, ApiError> {
    let mut q = ae::table.into_boxed();
    if let Some(v) = &f.record_type {
        q = q.filter(ae::record_type.eq(v.clone()));
    }
    if let Some(v) = &f.record_id {
        q = q.filter(ae::record_id.eq(v.clone()));
    }
    if let Some(v) = &f.actor_id {
        // Changes made with a user's API tokens are recorded as "<user id>/<token id>".
        let escaped: String = v
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        q = q.filter(
            ae::actor_id
                .eq(v.clone())
                .or(ae::actor_id.like(format!("{escaped}/%")).escape('\\')),
        );
    }
    if let Some(v) = &f.action {
        q = q.filter(ae::action.eq(v.clone()));
    }
    if let Some(v) = &f.request_id {
        q = q.filter(ae::request_id.eq(v.clone()));
    }
    if let Some(v) = f.since {
        q = q.filter(ae::occurred_at.ge(v));
    }
    if let Some(v) = f.until {
        q = q.filter(ae::occurred_at.lt(v));
    }
    if let Some(after) = page.after_one() {
        q = q.filter(ae::id.lt(after.to_owned()));
    }
    let rows: Vec<EventRow> = q
        .order(ae::id.desc())
        .limit(page.fetch())
        .select(EventRow::as_select())
        .load(conn)?;
    Ok(page.page(rows, |r| vec![r.id.to_string()], AuditEvent::from))
}
