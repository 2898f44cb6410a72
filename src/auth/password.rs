//! Password hashing with argon2id (19 MiB, t=2, p=1), off the request threads and bounded.
//!
//! Each argon2id run needs 19 MiB of working memory. Allocating it per call, on many blocking
//! threads at once, lets the process grow to gigabytes under a burst of logins; instead a semaphore
//! admits `hash_concurrency` runs at a time and each admitted run borrows one of as many
//! preallocated block buffers. A burst of logins therefore queues for a permit instead of starving
//! other requests of threads and memory.

use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::validation::Validator;

const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const OUTPUT_LEN: usize = 32;
pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

/// The parameters a stored hash was made with, and its salt and output.
struct Phc {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

fn parse_phc(s: &str) -> Option<Phc> {
    // $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
    let mut parts = s.split('$');
    let (empty, alg, version, params, salt, hash) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if !empty.is_empty() || alg != "argon2id" || version != "v=19" || parts.next().is_some() {
        return None;
    }
    let mut m = None;
    let mut t = None;
    let mut p = None;
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let v: u32 = v.parse().ok()?;
        match k {
            "m" => m = Some(v),
            "t" => t = Some(v),
            "p" => p = Some(v),
            _ => return None,
        }
    }
    Some(Phc {
        m: m?,
        t: t?,
        p: p?,
        salt: B64.decode(salt).ok()?,
        hash: B64.decode(hash).ok()?,
    })
}

fn compute(
    pwd: &[u8],
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
    out_len: usize,
    blocks: &mut Vec<Block>,
) -> Result<Vec<u8>, ApiError> {
    let params = Params::new(m, t, p, Some(out_len))
        .map_err(|e| ApiError::internal(format!("argon2 params: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    if blocks.len() != m as usize {
        *blocks = vec![Block::default(); m as usize];
    }
    let mut out = vec![0u8; out_len];
    argon
        .hash_password_into_with_memory(pwd, salt, &mut out, &mut blocks[..])
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))?;
    Ok(out)
}

fn hash_with(pwd: &str, blocks: &mut Vec<Block>) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let out = compute(
        pwd.as_bytes(),
        &salt,
        M_COST,
        T_COST,
        P_COST,
        OUTPUT_LEN,
        blocks,
    )?;
    Ok(format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        B64.encode(salt),
        B64.encode(out)
    ))
}

fn verify_with(pwd: &str, phc: &str, blocks: &mut Vec<Block>) -> Result<bool, ApiError> {
    let Some(stored) = parse_phc(phc) else {
        return Err(ApiError::internal(
            "a stored password hash is not in the expected format",
        ));
    };
    if stored.hash.is_empty() || stored.hash.len() > 64 {
        return Ok(false);
    }
    let out = compute(
        pwd.as_bytes(),
        &stored.salt,
        stored.m,
        stored.t,
        stored.p,
        stored.hash.len(),
        blocks,
    )?;
    Ok(bool::from(out.ct_eq(&stored.hash)))
}

/// The bounded hashing service shared by all requests.
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Verified against when the account does not exist, so both cases take the same time.
    dummy_hash: String,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> Result<Self, ApiError> {
        let mut first = vec![Block::default(); M_COST as usize];
        let mut random = [0u8; 24];
        rand::rng().fill_bytes(&mut random);
        let dummy_hash = hash_with(&B64.encode(random), &mut first)?;
        let mut buffers = vec![first];
        buffers.resize_with(concurrency, || vec![Block::default(); M_COST as usize]);
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            buffers: Arc::new(Mutex::new(buffers)),
            dummy_hash,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut blocks = self
            .buffers
            .lock()
            .map_err(|_| ApiError::internal("hash buffer lock poisoned"))?
            .pop()
            .unwrap_or_default();
        let (result, blocks) = actix_web::web::block(move || {
            let r = f(&mut blocks);
            (r, blocks)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
        if let Ok(mut pool) = self.buffers.lock() {
            pool.push(blocks);
        }
        result
    }

    pub async fn hash(&self, pwd: String) -> Result<String, ApiError> {
        self.run(move |blocks| hash_with(&pwd, blocks)).await
    }

    /// Verifies `pwd` against `stored`, or against a dummy hash when there is no account, so the
    /// answer takes the same time either way.
    pub async fn verify(&self, pwd: String, stored: Option<String>) -> Result<bool, ApiError> {
        let (phc, real) = match stored {
            Some(s) => (s, true),
            None => (self.dummy_hash.clone(), false),
        };
        let ok = self
            .run(move |blocks| verify_with(&pwd, &phc, blocks))
            .await?;
        Ok(ok && real)
    }
}

const COMMON: &str = include_str!("common-passwords.txt");

/// The password rules: 12 to 256 characters, not a common password, not the e-mail address.
pub fn check_password_rules(v: &mut Validator, field: &str, pwd: &str, email: Option<&str>) {
    let n = pwd.chars().count();
    if n < MIN_PASSWORD_CHARS {
        v.add(
            field,
            "too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
        return;
    }
    if n > MAX_PASSWORD_CHARS {
        v.add(
            field,
            "too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        );
        return;
    }
    let lower = pwd.to_lowercase();
    let first = lower.chars().next();
    let common = COMMON
        .lines()
        .map(str::trim)
        .any(|c| !c.is_empty() && c == lower)
        || lower.chars().all(|c| Some(c) == first)
        || email.is_some_and(|e| {
            lower.contains(&e.to_lowercase())
                || e.split('@')
                    .next()
                    .is_some_and(|l| l.len() >= 8 && lower.contains(l))
        });
    if common {
        v.add(
            field,
            "too_common",
            "is too common or too easy to guess; choose another",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let mut blocks = Vec::new();
        let h = hash_with("correct horse battery staple", &mut blocks).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_with("correct horse battery staple", &h, &mut blocks).unwrap());
        assert!(!verify_with("correct horse battery stapler", &h, &mut blocks).unwrap());
        assert!(verify_with("x", "not a hash", &mut blocks).is_err());
    }

    #[test]
    fn rejects_short_and_common_passwords() {
        for (pwd, code) in [
            ("short", "too_short"),
            ("password1234", "too_common"),
            ("aaaaaaaaaaaaaaa", "too_common"),
            ("kari.nordmann-secret", "too_common"),
        ] {
            let mut v = Validator::new();
            check_password_rules(&mut v, "password", pwd, Some("kari.nordmann@occ.no"));
            match v.finish() {
                Err(ApiError::Validation(e)) => assert_eq!(e[0].code, code, "{pwd}"),
                other => panic!("{pwd}: {other:?}"),
            }
        }
        let mut v = Validator::new();
        check_password_rules(&mut v, "password", "Tre lange ord på rad", None);
        assert!(v.finish().is_ok());
    }
}
