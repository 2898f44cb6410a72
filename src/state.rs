//! What every handler can reach through `web::Data<AppState>`.

use std::sync::Arc;

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::AddressThrottle;
use crate::config::Settings;
use crate::db::Db;
use crate::http::observe::Metrics;

/// Handlers reach the whole through `web::Data<AppState>`. The parts that lower layers need (the
/// database for the `Caller` extractor and the idempotency middleware, the JWT keys, the metrics)
/// are also registered as app data of their own, sharing the same instances, so `auth` and `http`
/// never name this type. The mailer is registered on its own too (`web::Data<Mailer>`): it belongs
/// to the notifications module, which sits above this one.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jwt: web::Data<JwtKeys>,
    pub hasher: PasswordHasher,
    pub metrics: web::Data<Metrics>,
    pub address_throttle: AddressThrottle,
    /// Password-reset requests per client address.
    pub reset_throttle: AddressThrottle,
    /// Public open-event registrations per client address.
    pub registration_throttle: AddressThrottle,
    /// Wakes the mail worker when a change has queued messages.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Tells the mail worker of this instance that messages are waiting.
    pub fn wake_mailer(&self) {
        self.mail_wakeup.notify_one();
    }
}
