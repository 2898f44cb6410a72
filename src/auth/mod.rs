//! Authentication (sessions, API tokens, passwords) and the access policy.

pub mod caller;
pub mod jwt;
pub mod password;
pub mod policy;
pub mod repo;
pub mod throttle;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use caller::{Auth, Caller, Role, Scope};

/// A new random secret: 32 bytes from the OS-seeded CSPRNG, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How opaque tokens are stored: their SHA-256 (they carry 256 bits of randomness, so a fast hash
/// is enough; a leaked table reveals no usable token).
pub fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}
