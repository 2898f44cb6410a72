//! The calendar feed as the API shows it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// Whether the caller has a live feed (its secret is never shown again).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"exists": true, "created_at": "2026-12-06T10:00:00Z", "last_used_at": "2026-12-06T11:00:00Z"}))]
pub struct CalendarFeed {
    pub exists: bool,
    pub created_at: Option<DateTime<Utc>>,
    /// When a calendar app last fetched it (to the hour).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A new feed: its URL holds the secret, shown only now.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"url": "https://connect.example/api/v1/calendar/8mE….ics", "created_at": "2026-12-06T10:00:00Z"}))]
pub struct CreatedFeed {
    /// Subscribe to this URL; anyone holding it reads your meetings, so keep it private.
    pub url: String,
    pub created_at: DateTime<Utc>,
}
