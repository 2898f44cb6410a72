//! Webhooks as the API shows them, and the rules that need no database: which events there are,
//! what a subscription's URL may be, and the envelope every delivery's body is.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::core::{Id, rfc3339, text_enum};
use crate::error::ApiError;
use crate::validation::Validator;

/// At most this many subscriptions, so a mistake cannot fan every change out without bound.
pub const SUBSCRIPTIONS_MAX: i64 = 50;
/// A subscription's description, in characters.
pub const DESCRIPTION_MAX: usize = 500;
/// A subscription's URL, in bytes.
pub const URL_MAX: usize = 2048;
/// How much of a receiver's error is kept in the delivery log, in characters.
pub const ERROR_MAX: usize = 500;

text_enum!(
    /// A kind of event a subscription can receive.
    #[derive(PartialOrd, Ord)]
    EventType {
        /// An organisation's membership status changed (e.g. applicant → partner).
        MembershipChanged = "organisation.membership_changed",
        /// An agreement moved in its life cycle (submitted, activated, suspended, …).
        AgreementStatusChanged = "agreement.status_changed",
        /// A patient was started under an agreement.
        AllocationCreated = "allocation.created",
        /// A cohort moved to another stage of its plan, or its status changed.
        CohortStageChanged = "cohort.stage_changed",
        /// A meeting was scheduled, or its time or place changed.
        MeetingScheduled = "meeting.scheduled",
        /// A meeting was cancelled, or a series ended early.
        MeetingCancelled = "meeting.cancelled",
        /// A decision's vote closed, with its result.
        DecisionClosed = "decision.closed",
    }
);

text_enum!(
    /// What a delivery carries: a kind of event, or `webhook.test` (sent only by
    /// `POST /webhooks/{id}/test`).
    DeliveryKind {
        MembershipChanged = "organisation.membership_changed",
        AgreementStatusChanged = "agreement.status_changed",
        AllocationCreated = "allocation.created",
        CohortStageChanged = "cohort.stage_changed",
        MeetingScheduled = "meeting.scheduled",
        MeetingCancelled = "meeting.cancelled",
        DecisionClosed = "decision.closed",
        Test = "webhook.test",
    }
);

impl From<EventType> for DeliveryKind {
    fn from(e: EventType) -> Self {
        match e {
            EventType::MembershipChanged => DeliveryKind::MembershipChanged,
            EventType::AgreementStatusChanged => DeliveryKind::AgreementStatusChanged,
            EventType::AllocationCreated => DeliveryKind::AllocationCreated,
            EventType::CohortStageChanged => DeliveryKind::CohortStageChanged,
            EventType::MeetingScheduled => DeliveryKind::MeetingScheduled,
            EventType::MeetingCancelled => DeliveryKind::MeetingCancelled,
            EventType::DecisionClosed => DeliveryKind::DecisionClosed,
        }
    }
}

text_enum!(
    /// Where a delivery stands.
    DeliveryState {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        /// An attempt is under way.
        Sending = "sending",
        /// The receiver answered 2xx.
        Delivered = "delivered",
        /// Every attempt failed; `POST …/retry` queues it again.
        Failed = "failed",
    }
);

/// A webhook subscription. Its signing secret is shown only when it is created or rotated.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-7777-7000-8000-0000000000a1",
    "url": "https://integrations.example.org/connect/webhooks",
    "description": "Agreement and allocation events for the trial office",
    "events": ["agreement.status_changed", "allocation.created"],
    "active": true,
    "created_by": "01937c4e-1111-7000-8000-000000000001",
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
    "version": 1
}))]
pub struct Subscription {
    pub id: Id,
    /// Where deliveries are POSTed.
    pub url: String,
    pub description: String,
    /// The kinds of events it receives, sorted.
    pub events: Vec<EventType>,
    /// An inactive subscription receives nothing (its queued deliveries are still sent).
    pub active: bool,
    /// The account that created it.
    pub created_by: Option<Id>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A subscription just created, or whose secret was just rotated: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "subscription": {
        "id": "01937c4e-7777-7000-8000-0000000000a1",
        "url": "https://integrations.example.org/connect/webhooks",
        "description": "Agreement and allocation events for the trial office",
        "events": ["agreement.status_changed", "allocation.created"],
        "active": true,
        "created_by": "01937c4e-1111-7000-8000-000000000001",
        "created_at": "2026-12-06T10:00:00Z",
        "updated_at": "2026-12-06T10:00:00Z",
        "version": 1
    },
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
}))]
pub struct SubscriptionWithSecret {
    pub subscription: Subscription,
    /// The key that signs deliveries (`whsec_` and base64): keep it with the receiver; it is not
    /// shown again.
    pub secret: String,
}

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://integrations.example.org/connect/webhooks",
    "description": "Agreement and allocation events for the trial office",
    "events": ["agreement.status_changed", "allocation.created"]
}))]
pub struct CreateSubscription {
    /// An absolute `https://` or `http://` URL without user name or password; redirects are not
    /// followed.
    #[schema(max_length = 2048, format = "uri")]
    pub url: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// One or more kinds of events, each once.
    #[schema(min_items = 1)]
    pub events: Vec<EventType>,
    /// `true` when absent.
    pub active: Option<bool>,
}

/// Changes to a subscription; absent fields stay. `events` replaces the whole list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"events": ["agreement.status_changed"], "active": false}))]
pub struct UpdateSubscription {
    #[schema(max_length = 2048, format = "uri")]
    pub url: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    #[schema(min_items = 1)]
    pub events: Option<Vec<EventType>>,
    pub active: Option<bool>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "attempt": 1, "attempted_at": "2026-12-06T10:00:01Z", "status": 503,
    "error": "the receiver answered 503 Service Unavailable", "duration_ms": 42
}))]
pub struct Attempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i32>,
    /// Why the attempt failed (the receiver's status, a time-out, a refused connection).
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// One event sent (or to be sent) to one subscription, with its log of attempts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01937c4e-8888-7000-8000-0000000000b1",
    "subscription_id": "01937c4e-7777-7000-8000-0000000000a1",
    "event_id": "01937c4e-9999-7000-8000-0000000000c1",
    "event_type": "agreement.status_changed",
    "state": "delivered",
    "attempts": 2,
    "next_attempt_at": null,
    "last_attempt_at": "2026-12-06T10:00:31Z",
    "last_status": 200,
    "last_error": null,
    "delivered_at": "2026-12-06T10:00:31Z",
    "created_at": "2026-12-06T10:00:00Z",
    "payload": {
        "id": "01937c4e-9999-7000-8000-0000000000c1",
        "type": "agreement.status_changed",
        "timestamp": "2026-12-06T10:00:00Z",
        "data": {"agreement_id": "01937c4e-4444-7000-8000-0000000000ee", "organisation_id": "01937c4e-0000-7000-8000-0000000000aa", "reference": "CONNECT-2026-001", "from_status": "submitted", "to_status": "active"}
    },
    "attempt_log": [
        {"attempt": 1, "attempted_at": "2026-12-06T10:00:01Z", "status": 503, "error": "the receiver answered 503 Service Unavailable", "duration_ms": 42},
        {"attempt": 2, "attempted_at": "2026-12-06T10:00:31Z", "status": 200, "error": null, "duration_ms": 38}
    ]
}))]
pub struct Delivery {
    pub id: Id,
    pub subscription_id: Id,
    /// The event's id: the `webhook-id` header, the same on every attempt (and for every
    /// subscription the event went to), so a receiver can drop repeats.
    pub event_id: Id,
    pub event_type: DeliveryKind,
    pub state: DeliveryState,
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The body POSTed, exactly as signed.
    pub payload: Value,
    /// Every attempt, oldest first (in lists: empty; read the delivery for its log).
    pub attempt_log: Vec<Attempt>,
}

/// The body of every delivery (the Standard Webhooks shape): the event's id, its type, when it
/// happened, and what it is about. Fetch the records named in `data` for their whole state.
pub fn envelope(event_id: &str, kind: DeliveryKind, at: NaiveDateTime, data: Value) -> Value {
    json!({
        "id": event_id,
        "type": kind.as_str(),
        "timestamp": rfc3339(at),
        "data": data,
    })
}

/// Checks a subscription's URL: absolute http(s), a host, no user name or password, no fragment.
pub fn check_url(v: &mut Validator, field: &str, raw: &str) {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return v.add(field, "required", "must not be empty");
    }
    if trimmed.len() > URL_MAX {
        return v.add(
            field,
            "too_long",
            format!("must be at most {URL_MAX} bytes"),
        );
    }
    let parsed = match url::Url::parse(trimmed) {
        Ok(u) => u,
        Err(_) => {
            return v.add(
                field,
                "invalid_format",
                "must be an absolute http(s) URL such as https://example.org/hooks",
            );
        }
    };
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none_or(str::is_empty) {
        v.add(
            field,
            "invalid_format",
            "must be an absolute http(s) URL such as https://example.org/hooks",
        );
    } else if !parsed.username().is_empty() || parsed.password().is_some() {
        v.add(
            field,
            "invalid_format",
            "must not carry a user name or password: deliveries are signed instead",
        );
    } else if parsed.fragment().is_some() {
        v.add(field, "invalid_format", "must not have a fragment (#…)");
    }
}

/// Checks a list of event kinds: not empty, each once.
pub fn check_events(v: &mut Validator, field: &str, events: &[EventType]) {
    if events.is_empty() {
        v.add(field, "required", "must list at least one kind of event");
    }
    let mut seen = events.to_vec();
    seen.sort();
    seen.dedup();
    if seen.len() != events.len() {
        v.add(field, "duplicate", "must list each kind of event once");
    }
}

/// What a new subscription must satisfy.
pub fn validate_new(req: &CreateSubscription) -> Result<(), ApiError> {
    let mut v = Validator::new();
    check_url(&mut v, "url", &req.url);
    v.optional_text("description", Some(&req.description), DESCRIPTION_MAX);
    check_events(&mut v, "events", &req.events);
    v.finish()
}

/// What a change must satisfy.
pub fn validate_update(req: &UpdateSubscription) -> Result<(), ApiError> {
    let mut v = Validator::new();
    if let Some(url) = &req.url {
        check_url(&mut v, "url", url);
    }
    v.optional_text("description", req.description.as_deref(), DESCRIPTION_MAX);
    if let Some(events) = &req.events {
        check_events(&mut v, "events", events);
    }
    v.finish()
}

/// Cuts a receiver's error to what the log keeps.
pub fn clip(text: &str) -> String {
    if text.chars().count() <= ERROR_MAX {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(ERROR_MAX - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_errors(raw: &str) -> usize {
        let mut v = Validator::new();
        check_url(&mut v, "url", raw);
        v.finish().err().map_or(0, |_| 1)
    }

    #[test]
    fn urls_must_be_absolute_http_without_credentials() {
        assert_eq!(url_errors("https://hooks.example.org/connect"), 0);
        assert_eq!(url_errors("http://127.0.0.1:9000/hook"), 0);
        assert_eq!(url_errors("http://localhost:9000"), 0);
        for bad in [
            "",
            "hooks.example.org",
            "ftp://example.org/x",
            "https://user:pw@example.org/",
            "https://example.org/#frag",
            "javascript:alert(1)",
            "file:///etc/passwd",
        ] {
            assert_eq!(url_errors(bad), 1, "{bad}");
        }
        assert_eq!(
            url_errors(&format!("https://e.org/{}", "a".repeat(2100))),
            1
        );
    }

    #[test]
    fn events_are_listed_once() {
        let check = |events: &[EventType]| {
            let mut v = Validator::new();
            check_events(&mut v, "events", events);
            v.finish().is_ok()
        };
        assert!(check(&[EventType::AllocationCreated]));
        assert!(!check(&[]));
        assert!(!check(&[
            EventType::AllocationCreated,
            EventType::AllocationCreated
        ]));
    }

    #[test]
    fn every_kind_of_event_is_a_kind_of_delivery_of_the_same_name() {
        for e in EventType::ALL {
            assert_eq!(DeliveryKind::from(*e).as_str(), e.as_str());
        }
        assert_eq!(DeliveryKind::ALL.len(), EventType::ALL.len() + 1);
    }

    #[test]
    fn the_envelope_names_the_event() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 6)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        let body = envelope(
            "e1",
            DeliveryKind::MeetingCancelled,
            at,
            json!({"meeting_id": "m"}),
        );
        assert_eq!(body["type"], "meeting.cancelled");
        assert_eq!(body["id"], "e1");
        assert_eq!(body["timestamp"], "2026-12-06T10:00:00Z");
        assert_eq!(body["data"]["meeting_id"], "m");
    }

    #[test]
    fn long_errors_are_clipped() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"x".repeat(900)).chars().count(), ERROR_MAX);
    }
}
