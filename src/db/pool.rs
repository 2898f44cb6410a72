//! An r2d2 manager that picks the backend by URL scheme and reports the real connection error
//! (diesel's derived `establish` tries each backend and hides it).

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

use super::{Backend, DbConn};

pub type Pool = r2d2::Pool<Manager>;

#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConn::Pg)
                .map_err(diesel::r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let path = sqlite_path(&self.url);
                diesel::SqliteConnection::establish(path)
                    .map(DbConn::Sqlite)
                    .map_err(diesel::r2d2::Error::ConnectionError)
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
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
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// `sqlite://data/connect.db` → `data/connect.db`; `sqlite:///abs/path.db` → `/abs/path.db`.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").unwrap_or(url)
}

/// Builds the pool, failing with the real cause when the database cannot be reached.
pub fn build_pool(url: &str, backend: Backend, size: u32) -> Result<Pool, String> {
    if backend == Backend::Sqlite {
        let path = std::path::Path::new(sqlite_path(url));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
        }
        let mut conn = diesel::SqliteConnection::establish(sqlite_path(url))
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| format!("cannot switch {} to WAL mode: {e}", path.display()))?;
    }
    let manager = Manager {
        url: url.to_owned(),
        backend,
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
        // PostgreSQL connections can die under us (restart, fail-over): check each on checkout so
        // the pool replaces dead ones by itself. A SQLite file cannot vanish that way.
        .test_on_check_out(backend == Backend::Postgres);
    let builder = if backend == Backend::Sqlite {
        builder.connection_customizer(Box::new(SqliteSettings))
    } else {
        builder
    };
    builder.build(manager).map_err(|e| e.to_string())
}
