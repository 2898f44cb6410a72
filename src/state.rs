//! What every handler can reach through `web::Data<AppState>`.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::AddressThrottle;
use crate::config::Settings;
use crate::db::Db;
use crate::http::observe::Metrics;
use crate::notifications::Mailer;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jwt: JwtKeys,
    pub hasher: PasswordHasher,
    pub metrics: Metrics,
    pub address_throttle: AddressThrottle,
    /// Password-reset requests per client address.
    pub reset_throttle: AddressThrottle,
    pub mailer: Arc<Mailer>,
    /// Wakes the mail worker when a change has queued messages.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Tells the mail worker of this instance that messages are waiting.
    pub fn wake_mailer(&self) {
        self.mail_wakeup.notify_one();
    }
}
