//! What every handler can reach through `web::Data<AppState>`.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::throttle::AddressThrottle;
use crate::config::Settings;
use crate::db::Db;
use crate::http::observe::Metrics;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub jwt: JwtKeys,
    pub hasher: PasswordHasher,
    pub metrics: Metrics,
    pub address_throttle: AddressThrottle,
}
