use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::core::Id;

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-8a1b-7c3d-9e2f-0a1b2c3d4e5f",
    "occurred_at": "2026-11-23T10:15:00Z",
    "actor_kind": "user",
    "actor_id": "01937c4e-0000-7000-8000-000000000001",
    "action": "membership.changed",
    "record_type": "organisation",
    "record_id": "01937c4e-0000-7000-8000-0000000000aa",
    "changes": {"membership_status": {"from": "applicant", "to": "partner"}},
    "request_id": "01937c4e8a1b7c3d9e2f0a1b2c3d4e5f"
}))]
pub struct AuditEvent {
    pub id: Id,
    pub occurred_at: DateTime<Utc>,
    /// `user`, `api_token` (actor_id is `<user id>/<token id>`), `meeting_invitee` (an answer
    /// through the e-mailed link; actor_id is the invitee), `poll_participant` (a scheduling
    /// poll answered through the e-mailed link; actor_id is the participant) or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// `<record>.<verb>`, e.g. `organisation.created`, `user.deactivated`.
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    /// Changed fields as `{"field": {"from": old, "to": new}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: Option<String>,
}

/// The changed fields between two JSON representations of a record, as
/// `{"field": {"from": old, "to": new}}`. `before = None` records a creation.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    for key in b.keys().chain(a.keys().filter(|k| !b.contains_key(*k))) {
        if matches!(key.as_str(), "version" | "updated_at" | "created_at") {
            continue;
        }
        let (old, new) = (
            b.get(key).unwrap_or(&Value::Null),
            a.get(key).unwrap_or(&Value::Null),
        );
        if old != new {
            let mut change = Map::new();
            change.insert("from".into(), old.clone());
            change.insert("to".into(), new.clone());
            out.insert(key.clone(), Value::Object(change));
        }
    }
    Value::Object(out)
}

/// The changes a PATCH makes, or `None` when it changes nothing (`{}`, or the same values): then
/// the record keeps its version and no audit event is written.
pub fn changes(before: &impl serde::Serialize, after: &impl serde::Serialize) -> Option<Value> {
    let changes = diff(
        Some(&serde_json::json!(before)),
        Some(&serde_json::json!(after)),
    );
    (!changes.as_object().is_some_and(Map::is_empty)).then_some(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_changed_fields() {
        let before = json!({"name": "Roche Norge", "website": null, "version": 1});
        let after = json!({"name": "Roche Norge AS", "website": null, "version": 2});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({"name": {"from": "Roche Norge", "to": "Roche Norge AS"}})
        );
        assert_eq!(
            diff(None, Some(&json!({"a": 1}))),
            json!({"a": {"from": null, "to": 1}})
        );
    }
}
