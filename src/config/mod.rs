//! Configuration: defaults, then an optional TOML file, then `CONNECT_*` environment variables.
//!
//! Every problem is collected and reported at once, one line per key, so an operator fixes a broken
//! configuration in one round. Secrets live in [`Secret`], which never prints its value.

pub mod smtp;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::db::Backend;

/// A value that must never appear in logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated settings the service runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub backend: Backend,
    pub bind: SocketAddr,
    pub public_url: String,
    pub data_dir: PathBuf,
    /// `None` until [`Settings::resolve_jwt_secret`] ran (SQLite may generate one on first start).
    pub jwt_secret: Option<Secret>,
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    pub db_pool_size: u32,
    pub workers: usize,
    pub hash_concurrency: usize,
    pub trusted_proxy_hops: usize,
    pub log_format: LogFormat,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// `None` writes outgoing mail as `.eml` files under `<data_dir>/mail/`.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    pub mail_worker: bool,
    pub mail_max_attempts: i32,
    pub mail_retry_base_secs: u64,
    pub mail_poll_ms: u64,
    /// A message claimed longer ago than this by a worker that died is sent again.
    pub mail_claim_timeout_secs: u64,
    /// Messages one worker sends at once.
    pub mail_concurrency: usize,
    /// Whether this instance sends webhook deliveries.
    pub webhook_worker: bool,
    pub webhook_max_attempts: i32,
    pub webhook_retry_base_secs: u64,
    /// How long a receiver has to answer one attempt.
    pub webhook_timeout_secs: u64,
    pub webhook_poll_ms: u64,
}

/// The keys the service understands, with their defaults; the TOML file uses the same names in
/// lower case without the `CONNECT_` prefix (`database_url = "…"`).
pub const KEYS: &[(&str, &str)] = &[
    ("CONNECT_DATABASE_URL", "sqlite://data/connect.db"),
    ("CONNECT_BIND", "127.0.0.1:8080"),
    ("CONNECT_PUBLIC_URL", "http://<bind>"),
    ("CONNECT_DATA_DIR", "data"),
    (
        "CONNECT_JWT_SECRET",
        "generated into <data_dir>/jwt-secret (SQLite only)",
    ),
    ("CONNECT_ADMIN_EMAIL", ""),
    ("CONNECT_ADMIN_PASSWORD", ""),
    (
        "CONNECT_DB_POOL_SIZE",
        "8 (SQLite) / 2 per core, at least 4 (PostgreSQL)",
    ),
    ("CONNECT_WORKERS", "number of cores"),
    ("CONNECT_HASH_CONCURRENCY", "2"),
    ("CONNECT_TRUSTED_PROXY_HOPS", "0"),
    ("CONNECT_LOG_FORMAT", "text"),
    ("CONNECT_ACCESS_TOKEN_TTL_SECS", "900"),
    ("CONNECT_REFRESH_TOKEN_TTL_SECS", "2592000"),
    (
        "CONNECT_SMTP_URL",
        "unset: write .eml files under <data_dir>/mail/",
    ),
    ("CONNECT_MAIL_FROM", "CONNECT <no-reply@localhost>"),
    ("CONNECT_MAIL_WORKER", "true"),
    ("CONNECT_MAIL_MAX_ATTEMPTS", "8"),
    ("CONNECT_MAIL_RETRY_BASE_SECS", "30"),
    ("CONNECT_MAIL_POLL_MS", "1000"),
    ("CONNECT_MAIL_CLAIM_TIMEOUT_SECS", "300"),
    ("CONNECT_MAIL_CONCURRENCY", "16"),
    ("CONNECT_WEBHOOK_WORKER", "true"),
    ("CONNECT_WEBHOOK_MAX_ATTEMPTS", "8"),
    ("CONNECT_WEBHOOK_RETRY_BASE_SECS", "30"),
    ("CONNECT_WEBHOOK_TIMEOUT_SECS", "10"),
    ("CONNECT_WEBHOOK_POLL_MS", "1000"),
];

/// Configuration errors: one line per problem.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "configuration error: {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl Settings {
    /// Reads the process environment and the optional file named by `CONNECT_CONFIG`.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        let env: BTreeMap<String, String> = std::env::vars()
            // CONNECT_TEST_* belong to the test suite, not to the service.
            .filter(|(k, _)| k.starts_with("CONNECT_") && !k.starts_with("CONNECT_TEST_"))
            .collect();
        Self::from_sources(&env)
    }

    /// Builds settings from a map of `CONNECT_*` variables (plus the file it may name).
    pub fn from_sources(env: &BTreeMap<String, String>) -> Result<Self, ConfigErrors> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut errors = Vec::new();
        // The settings the file gave, by variable, with the key as written there: a problem with
        // one is reported as `<file>: <key>`, as the operator wrote it.
        let mut from_file: BTreeMap<String, String> = BTreeMap::new();
        if let Some(path) = env.get("CONNECT_CONFIG") {
            match read_toml(Path::new(path)) {
                Ok(file) => {
                    for (written, value) in file {
                        let var = format!("CONNECT_{}", written.to_uppercase());
                        if KEYS.iter().any(|(k, _)| *k == var) && var != "CONNECT_CONFIG" {
                            from_file.insert(var.clone(), format!("{path}: {written}"));
                            values.insert(var, value);
                        } else {
                            errors.push(unknown_file_key(path, &written));
                        }
                    }
                }
                Err(e) => errors.push(format!("CONNECT_CONFIG: {e}")),
            }
        }
        for (k, v) in env {
            if k != "CONNECT_CONFIG" {
                from_file.remove(k);
                values.insert(k.clone(), v.clone());
            }
        }
        for key in values.keys() {
            if !KEYS.iter().any(|(k, _)| k == key) {
                errors.push(format!(
                    "{key}: unknown setting (known: {})",
                    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        let get = |k: &str| {
            values
                .get(k)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };

        let database_url =
            get("CONNECT_DATABASE_URL").unwrap_or_else(|| "sqlite://data/connect.db".into());
        let backend = match Backend::from_url(&database_url) {
            Some(b) => b,
            None => {
                errors.push(
                    "CONNECT_DATABASE_URL: must start with sqlite:// or postgres:// (or postgresql://)"
                        .into(),
                );
                Backend::Sqlite
            }
        };
        let bind_raw = get("CONNECT_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = match bind_raw.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                errors.push(format!(
                    "CONNECT_BIND: '{bind_raw}' is not an address such as 127.0.0.1:8080"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };
        let public_url = get("CONNECT_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            errors.push("CONNECT_PUBLIC_URL: must be an http:// or https:// URL".into());
        }
        let public_url = public_url.trim_end_matches('/').to_owned();
        let data_dir = PathBuf::from(get("CONNECT_DATA_DIR").unwrap_or_else(|| "data".into()));

        let jwt_secret = get("CONNECT_JWT_SECRET").map(Secret::new);
        if let Some(s) = &jwt_secret {
            if s.expose().len() < 32 {
                errors.push("CONNECT_JWT_SECRET: must be at least 32 bytes long".into());
            } else if !has_enough_entropy(s.expose()) {
                errors.push(
                    "CONNECT_JWT_SECRET: too predictable (too few different characters); \
                     generate one, e.g. with `openssl rand -hex 32`"
                        .into(),
                );
            }
        }
        if jwt_secret.is_none() && backend == Backend::Postgres {
            errors.push(
                "CONNECT_JWT_SECRET: required with PostgreSQL (every instance must share it)"
                    .into(),
            );
        }

        let admin_email = get("CONNECT_ADMIN_EMAIL");
        let admin_password = get("CONNECT_ADMIN_PASSWORD").map(Secret::new);
        if admin_email.is_some() != admin_password.is_some() {
            errors
                .push("CONNECT_ADMIN_EMAIL and CONNECT_ADMIN_PASSWORD: set both or neither".into());
        }

        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut number = |key: &str, default: u64, min: u64, max: u64| -> u64 {
            match get(key) {
                None => default,
                Some(raw) => match raw.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => n,
                    _ => {
                        errors.push(format!(
                            "{key}: '{raw}' must be a whole number from {min} to {max}"
                        ));
                        default
                    }
                },
            }
        };
        // PostgreSQL: about two connections per core of this instance; more only queue in the
        // database and starve the request threads (measured in bench/).
        let default_pool = if backend == Backend::Sqlite {
            8
        } else {
            (2 * cores as u64).max(4)
        };
        let db_pool_size = number("CONNECT_DB_POOL_SIZE", default_pool, 1, 512) as u32;
        let workers = number("CONNECT_WORKERS", cores as u64, 1, 256) as usize;
        let hash_concurrency = number("CONNECT_HASH_CONCURRENCY", 2, 1, 64) as usize;
        let trusted_proxy_hops = number("CONNECT_TRUSTED_PROXY_HOPS", 0, 0, 10) as usize;
        let access_token_ttl_secs = number("CONNECT_ACCESS_TOKEN_TTL_SECS", 900, 60, 86_400) as i64;
        let refresh_token_ttl_secs =
            number("CONNECT_REFRESH_TOKEN_TTL_SECS", 2_592_000, 300, 31_536_000) as i64;

        let mail_max_attempts = number("CONNECT_MAIL_MAX_ATTEMPTS", 8, 1, 100) as i32;
        let mail_retry_base_secs = number("CONNECT_MAIL_RETRY_BASE_SECS", 30, 0, 86_400);
        let mail_poll_ms = number("CONNECT_MAIL_POLL_MS", 1000, 10, 600_000);
        let mail_claim_timeout_secs = number("CONNECT_MAIL_CLAIM_TIMEOUT_SECS", 300, 1, 86_400);
        let mail_concurrency = number("CONNECT_MAIL_CONCURRENCY", 16, 1, 64) as usize;
        let webhook_max_attempts = number("CONNECT_WEBHOOK_MAX_ATTEMPTS", 8, 1, 100) as i32;
        let webhook_retry_base_secs = number("CONNECT_WEBHOOK_RETRY_BASE_SECS", 30, 0, 86_400);
        let webhook_timeout_secs = number("CONNECT_WEBHOOK_TIMEOUT_SECS", 10, 1, 120);
        let webhook_poll_ms = number("CONNECT_WEBHOOK_POLL_MS", 1000, 10, 600_000);
        let mut flag = |key: &str| match get(key).as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(other) => {
                errors.push(format!("{key}: '{other}' must be true or false"));
                true
            }
        };
        let mail_worker = flag("CONNECT_MAIL_WORKER");
        let webhook_worker = flag("CONNECT_WEBHOOK_WORKER");
        let smtp_url = get("CONNECT_SMTP_URL").map(Secret::new);
        if let Some(url) = &smtp_url
            && let Err(e) = smtp::SmtpSettings::parse(url.expose())
        {
            errors.push(format!("CONNECT_SMTP_URL: {e}"));
        }
        let mail_from =
            get("CONNECT_MAIL_FROM").unwrap_or_else(|| "CONNECT <no-reply@localhost>".into());
        if mail_from.parse::<lettre::message::Mailbox>().is_err()
            || mail_from.chars().any(char::is_control)
        {
            errors.push(format!(
                "CONNECT_MAIL_FROM: '{mail_from}' is not a mailbox such as 'CONNECT <no-reply@example.org>'"
            ));
        }

        let log_format = match get("CONNECT_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                errors.push(format!(
                    "CONNECT_LOG_FORMAT: '{other}' must be text or json"
                ));
                LogFormat::Text
            }
        };

        if !errors.is_empty() {
            let errors = errors
                .into_iter()
                .map(|e| match e.split_once(':') {
                    Some((var, rest)) if from_file.contains_key(var) => {
                        format!("{}:{rest}", from_file[var])
                    }
                    _ => e,
                })
                .collect();
            return Err(ConfigErrors(errors));
        }
        Ok(Settings {
            database_url,
            backend,
            bind,
            public_url,
            data_dir,
            jwt_secret,
            admin_email,
            admin_password,
            db_pool_size,
            workers,
            hash_concurrency,
            trusted_proxy_hops,
            log_format,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            smtp_url,
            mail_from,
            mail_worker,
            mail_max_attempts,
            mail_retry_base_secs,
            mail_poll_ms,
            mail_claim_timeout_secs,
            mail_concurrency,
            webhook_worker,
            webhook_max_attempts,
            webhook_retry_base_secs,
            webhook_timeout_secs,
            webhook_poll_ms,
        })
    }

    /// Returns the JWT secret, generating and storing one under the data directory on first start
    /// when none is configured (SQLite only: several PostgreSQL instances must share a configured one).
    pub fn resolve_jwt_secret(&mut self) -> Result<Secret, ConfigErrors> {
        if let Some(s) = &self.jwt_secret {
            return Ok(s.clone());
        }
        let path = self.data_dir.join("jwt-secret");
        let fail = |what: &str, e: std::io::Error| {
            ConfigErrors(vec![format!(
                "CONNECT_JWT_SECRET: not set, and {what} {}: {e}",
                path.display()
            )])
        };
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => {
                // A secret file left readable to others (by hand, or an older version) is
                // narrowed to its owner.
                if let Err(e) = crate::files::restrict(&path) {
                    tracing::warn!(error = %e, path = %path.display(), "cannot make the JWT secret file private");
                }
                s.trim().to_owned()
            }
            Ok(_) => {
                return Err(ConfigErrors(vec![format!(
                    "CONNECT_JWT_SECRET: {} holds fewer than 32 bytes",
                    path.display()
                )]));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::files::private_dir(&self.data_dir)
                    .map_err(|e| fail("cannot create the folder of", e))?;
                let mut bytes = [0u8; 48];
                rand::rng().fill_bytes(&mut bytes);
                let s: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(&path, &s).map_err(|e| fail("cannot write", e))?;
                s
            }
            Err(e) => return Err(fail("cannot read", e)),
        };
        let secret = Secret::new(secret);
        self.jwt_secret = Some(secret.clone());
        Ok(secret)
    }

    /// The database URL with any password replaced, for messages.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database_url)
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.split_once('@')
        && let Some((user, _)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// Writes a new file `0600` (never an existing one: two processes generating a secret at once
/// cannot both write it).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    crate::files::private_options()
        .write(true)
        .create_new(true)
        .open(path)?
        .write_all(contents.as_bytes())
}

/// A key of the configuration file that names no setting, as written there, with the keys the
/// file takes (a variable's name written in the file is pointed at its file form).
fn unknown_file_key(path: &str, written: &str) -> String {
    let known: Vec<String> = KEYS
        .iter()
        .filter(|(k, _)| *k != "CONNECT_CONFIG")
        .filter_map(|(k, _)| k.strip_prefix("CONNECT_").map(str::to_lowercase))
        .collect();
    let hint = written
        .to_uppercase()
        .strip_prefix("CONNECT_")
        .map(str::to_lowercase)
        .filter(|k| known.contains(k))
        .map(|k| format!("; in the file write `{k}`, without the CONNECT_ prefix"))
        .unwrap_or_default();
    format!(
        "{path}: {written}: unknown setting{hint} (known: {})",
        known.join(", ")
    )
}

fn read_toml(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        format!("{} is not valid TOML: {}", path.display(), e.message())
    })?;
    let mut out = Vec::new();
    for (k, v) in table {
        let value = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}: {k}: unsupported value {other}",
                    path.display()
                ));
            }
        };
        out.push((k, value));
    }
    Ok(out)
}

/// Whether a secret has at least about 100 bits of entropy by its character frequencies, and at
/// least 10 different characters: refuses `aaaa…` and other typed-in placeholders, accepts any
/// secret made by a random generator (`openssl rand -hex 32` has about 250 bits by this measure).
pub fn has_enough_entropy(secret: &str) -> bool {
    let mut counts = std::collections::HashMap::new();
    for c in secret.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
    }
    let n = secret.chars().count() as f64;
    let bits: f64 = counts
        .values()
        .map(|&k| {
            let p = f64::from(k) / n;
            -p * p.log2() * n
        })
        .sum();
    counts.len() >= 10 && bits >= 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictable_jwt_secrets_are_refused() {
        assert!(!has_enough_entropy(&"a".repeat(40)));
        assert!(!has_enough_entropy(&"ab".repeat(20)));
        assert!(!has_enough_entropy("abcdefghabcdefghabcdefghabcdefgh"));
        assert!(has_enough_entropy(
            "3f9c2a71d84e0b5f6a1c9e2d7b4f8a03c5e1d9b7f2a4c6e8"
        ));
        assert!(has_enough_entropy(
            "test-secret-test-secret-test-secret-0123"
        ));
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::from_sources(&env(&[])).unwrap();
        assert_eq!(s.database_url, "sqlite://data/connect.db");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let e = Settings::from_sources(&env(&[
            ("CONNECT_DATABASE_URL", "postgres://u:pw@h/db"),
            ("CONNECT_BIND", "nowhere"),
            ("CONNECT_WORKERS", "0"),
            ("CONNECT_NOPE", "1"),
        ]))
        .unwrap_err();
        let text = e.to_string();
        assert_eq!(e.0.len(), 4, "{text}");
        assert!(text.contains("CONNECT_JWT_SECRET: required with PostgreSQL"));
        assert!(text.contains("CONNECT_BIND"));
        assert!(text.contains("CONNECT_WORKERS"));
        assert!(text.contains("CONNECT_NOPE: unknown setting"));
        assert!(!text.contains("pw"));
    }

    #[test]
    fn problems_in_the_file_name_the_file_and_the_key_as_written_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.toml");
        std::fs::write(
            &path,
            "nope = 1\nCONNECT_BIND = \"0.0.0.0:80\"\nworkers = 0\nlog_format = \"xml\"\n",
        )
        .unwrap();
        let file = path.display().to_string();
        let e = Settings::from_sources(&env(&[
            ("CONNECT_CONFIG", file.as_str()),
            ("CONNECT_LOG_FORMAT", "yaml"),
        ]))
        .unwrap_err();
        let text = e.to_string();
        assert_eq!(e.0.len(), 4, "{text}");
        assert!(
            text.contains(&format!("{file}: nope: unknown setting")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "{file}: CONNECT_BIND: unknown setting; in the file write `bind`"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("{file}: workers:")), "{text}");
        // The environment wins, and its problem names the variable.
        assert!(text.contains("CONNECT_LOG_FORMAT: 'yaml'"), "{text}");
        assert!(!text.contains("CONNECT_NOPE") && !text.contains("CONNECT_CONNECT_BIND"));
    }

    #[test]
    fn short_secret_is_rejected_and_never_printed() {
        let e =
            Settings::from_sources(&env(&[("CONNECT_JWT_SECRET", "short-secret")])).unwrap_err();
        assert!(!e.to_string().contains("short-secret"));
        assert_eq!(format!("{:?}", Secret::new("x")), "Secret(***)");
    }

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://a:b@h:5432/d"),
            "postgres://a:***@h:5432/d"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
