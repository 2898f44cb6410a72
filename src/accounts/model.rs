//! Request and response bodies of the session endpoints.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "kari.nordmann@oslocancercluster.no", "password": "a long and private passphrase"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "m0VnXk3rJ8…"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh. Each can be used once.
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "m0VnXk3rJ8…",
    "refresh_expires_in": 2592000
}))]
pub struct TokenPair {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/api/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "correct horse battery", "new_password": "staple-lantern-fjord-42"}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// At least 12 characters, not a common password.
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "kari.nordmann@roche.com"}))]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "the token from the e-mail's link", "new_password": "a new long passphrase"}))]
pub struct PasswordResetConfirm {
    /// The token from the link in the e-mail.
    pub token: String,
    /// At least 12 characters, not a common one.
    pub new_password: String,
}
