//! Access tokens: HS256 JWTs (the algorithm is pinned), with `exp`, `iat`, `iss`, `aud` and `sub`
//! required. They are checked statelessly; the caller's account is still read on every request, so
//! a deactivated account stops working at once.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::error::ApiError;

pub const ISSUER: &str = "connect";
pub const AUDIENCE: &str = "connect-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub iss: String,
    pub aud: String,
    /// The refresh-token family (the session) this access token belongs to.
    pub sid: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub ttl_secs: i64,
}

impl JwtKeys {
    pub fn new(secret: &Secret, ttl_secs: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            ttl_secs,
        }
    }

    pub fn issue(&self, user_id: &str, session: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            exp: now + self.ttl_secs,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sid: session.to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("jwt encode: {e}")))
    }

    /// The claims of a valid token. Beyond the signature and the standard claims: a token may not
    /// live longer than this service issues them for (`exp - iat` at most the configured lifetime),
    /// nor claim to be issued in the future, so a leaked secret cannot mint ten-year tokens.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = self.validation.leeway as i64;
        (claims.exp - claims.iat <= self.ttl_secs && claims.iat <= now + leeway).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new("0123456789abcdef0123456789abcdef"), 900)
    }

    #[test]
    fn round_trip_and_rejects_tampering() {
        let k = keys();
        let t = k.issue("user-1", "family-1").unwrap();
        assert_eq!(k.verify(&t).unwrap().sub, "user-1");
        let other = JwtKeys::new(&Secret::new("another-secret-another-secret-xx"), 900);
        assert!(other.verify(&t).is_none());
        let mut parts: Vec<&str> = t.split('.').collect();
        parts[2] = "AAAA";
        assert!(k.verify(&parts.join(".")).is_none());
    }

    /// A token with these claims, signed with the test secret.
    fn signed(alg: Algorithm, claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap()
    }

    fn claims(exp: i64, iat: i64) -> Claims {
        Claims {
            sub: "u".into(),
            exp,
            iat,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sid: "s".into(),
        }
    }

    #[test]
    fn rejects_tokens_that_live_longer_than_issued_ones_or_come_from_the_future() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let sign = |exp, iat| signed(Algorithm::HS256, &claims(exp, iat));
        assert!(k.verify(&sign(now + 900, now)).is_some());
        assert!(k.verify(&sign(now + 10 * 365 * 86_400, now)).is_none());
        assert!(k.verify(&sign(now + 3_600, now + 3_000)).is_none());
    }

    #[test]
    fn rejects_other_algorithms_and_missing_claims() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let valid = claims(now + 60, now);
        assert!(k.verify(&signed(Algorithm::HS256, &valid)).is_some());
        // HS512 with the same secret: the algorithm is pinned, so refused.
        assert!(k.verify(&signed(Algorithm::HS512, &valid)).is_none());
        // Wrong audience.
        let other_audience = Claims {
            aud: "someone-else".into(),
            ..claims(now + 60, now)
        };
        assert!(
            k.verify(&signed(Algorithm::HS256, &other_audience))
                .is_none()
        );
        // Expired.
        assert!(
            k.verify(&signed(Algorithm::HS256, &claims(now - 120, now - 180)))
                .is_none()
        );
    }
}
