//! An r2d2 manager that picks the backend by URL scheme and reports the real connection error
//! (diesel's derived `establish` tries each backend and hides it).
//!
//! Each connection carries a [`Health`] record as its diesel instrumentation, so it sees every
//! statement the connection runs: it counts them (for the per-request figures of
//! [`super::Tally`]) and notes when one failed because the connection itself is gone.
//!
//! Dead connections are found on error, not by a `SELECT 1` before every use: a connection whose
//! statement failed with a connection-level error is dropped when it returns to the pool (r2d2's
//! `has_broken`), and the pool opens a new one. A server restart kills every connection at once,
//! so losing one also makes the pool check each other idle connection once, with a ping, before
//! handing it out again. The request that met the dead connection answers 503 (`unavailable`,
//! with `Retry-After`), as requests do while the database is unreachable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::{Backend, DbConn};

/// What one pooled connection knows about itself.
#[derive(Debug, Default)]
pub struct Health {
    /// A statement failed because the connection is closed or cannot send: drop it.
    broken: bool,
    /// SQLite opened the file read-only (it was not writable when the connection was made) and a
    /// write was refused: drop it, so a connection made once the fault is cleared can write.
    read_only: bool,
    /// Statements sent since the connection was last checked out.
    statements: u32,
    /// The pool's count of lost connections when this one was last known to work.
    checked_at_loss: u64,
}

impl Instrumentation for Health {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => {
                self.statements = self.statements.saturating_add(1);
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } if is_connection_lost(error) => self.broken = true,
            InstrumentationEvent::FinishQuery {
                error: Some(DieselError::DatabaseError(_, info)),
                ..
            } if info
                .message()
                .contains("attempt to write a readonly database") =>
            {
                self.read_only = true;
            }
            _ => {}
        }
    }
}

/// True for the errors that mean the connection itself is gone (a restarted or unreachable
/// server, a terminated backend), as opposed to an error of the statement.
pub fn is_connection_lost(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

/// The connection's [`Health`] (every connection the manager makes has one).
fn health(conn: &mut DbConn) -> Option<&mut Health> {
    conn.instrumentation().downcast_mut::<Health>()
}

/// Statements the connection has sent since it was checked out.
pub fn statements_since_checkout(conn: &mut DbConn) -> u32 {
    health(conn).map_or(0, |h| h.statements)
}

pub type Pool = r2d2::Pool<Manager>;

#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
    /// Connections found dead so far: an idle connection checked before the latest loss is
    /// pinged once before its next use.
    losses: AtomicU64,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let mut conn = match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let path = sqlite_path(&self.url);
                diesel::SqliteConnection::establish(path)
                    .map(DbConn::Sqlite)
                    .map_err(diesel::r2d2::Error::ConnectionError)
            }
        }?;
        conn.set_instrumentation(Health {
            checked_at_loss: self.losses.load(Ordering::Acquire),
            ..Health::default()
        });
        Ok(conn)
    }

    /// Run on checkout (PostgreSQL): free unless a connection was lost since this one last
    /// worked; then one ping decides (a failed ping makes r2d2 drop it and try another).
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        let losses = self.losses.load(Ordering::Acquire);
        if health(conn).is_some_and(|h| h.checked_at_loss == losses) {
            return Ok(());
        }
        conn.ping().map_err(diesel::r2d2::Error::QueryError)?;
        if let Some(h) = health(conn) {
            h.checked_at_loss = losses;
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // Called as each connection returns to the pool: the next checkout counts afresh.
        let (lost, read_only) = health(conn).map_or((false, false), |h| {
            h.statements = 0;
            (h.broken, h.read_only)
        });
        if lost {
            self.losses.fetch_add(1, Ordering::AcqRel);
            tracing::warn!("a database connection was lost; the pool replaces it");
        }
        lost || read_only || conn.is_broken()
    }
}

/// Per-connection SQLite settings (WAL itself is set once, before the pool is built).
#[derive(Debug)]
struct SqliteSettings;

impl r2d2::CustomizeConnection<DbConn, diesel::r2d2::Error> for SqliteSettings {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)?;
        if let DbConn::Sqlite(c) = conn {
            super::functions::fold_case_utils::register_impl(c, |x: Option<String>| {
                x.map(|x| x.to_lowercase())
            })
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        if let Some(h) = health(conn) {
            h.statements = 0;
        }
        Ok(())
    }
}

/// `sqlite://data/connect.db` → `data/connect.db`; `sqlite:///abs/path.db` → `/abs/path.db`.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// The SQLite file holds password hashes, contacts and sessions: it is created `0600` (in folders
/// created `0700`) before the first connection opens it, and an existing one is narrowed to
/// `0600` with its `-wal` and `-shm` files. SQLite gives the `-wal`, `-shm` and `-journal` files
/// it creates the mode of the database file, so they are private too.
fn make_private(path: &std::path::Path) -> Result<(), String> {
    let name = path.as_os_str().to_string_lossy();
    if name.is_empty() || name == ":memory:" || name.starts_with("file:") {
        return Ok(());
    }
    crate::files::private_parents(path)
        .map_err(|e| format!("cannot create the folder of {}: {e}", path.display()))?;
    if !path.exists() {
        return crate::files::touch_private(path).map_err(|e| {
            format!(
                "cannot create {} readable by its owner only: {e}",
                path.display()
            )
        });
    }
    // Left by an older version, or by hand: narrowed, with a warning when that is not ours to do.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        if let Err(e) = crate::files::restrict(&file) {
            tracing::warn!(error = %e, path = %file.display(), "cannot make a database file private");
        }
    }
    Ok(())
}

/// Builds the pool, failing with the real cause when the database cannot be reached.
pub fn build_pool(url: &str, backend: Backend, size: u32) -> Result<Pool, String> {
    if backend == Backend::Sqlite {
        let path = std::path::Path::new(sqlite_path(url));
        make_private(path)?;
        let mut conn = diesel::SqliteConnection::establish(sqlite_path(url))
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| format!("cannot switch {} to WAL mode: {e}", path.display()))?;
    }
    let manager = Manager {
        url: url.to_owned(),
        backend,
        losses: AtomicU64::new(0),
    };
    // Check once by hand, to report the real error rather than r2d2's time-out.
    {
        use r2d2::ManageConnection;
        manager.connect().map_err(|e| e.to_string())?;
    }
    let builder = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1.min(size)))
        .connection_timeout(Duration::from_secs(5))
        .idle_timeout(Some(Duration::from_secs(300)))
        // PostgreSQL connections can die under us (restart, fail-over): `is_valid` pings idle
        // ones after a loss (see the module docs). A SQLite file cannot vanish that way.
        .test_on_check_out(backend == Backend::Postgres);
    let builder = if backend == Backend::Sqlite {
        builder.connection_customizer(Box::new(SqliteSettings))
    } else {
        builder
    };
    builder.build(manager).map_err(|e| e.to_string())
}
