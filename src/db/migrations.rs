//! Embedded migrations, one set per backend, run at start and by `connect migrate`.

use diesel::connection::SimpleConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A fixed key for `pg_advisory_lock`, so instances starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x0063_6f6e_6e65_6374;

/// Runs pending migrations and returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> Result<usize, String> {
    let result = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|v| v.len()),
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| format!("cannot take the migration lock: {e}"))?;
            let r = c.run_pending_migrations(POSTGRES).map(|v| v.len());
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            r
        }
    };
    result.map_err(|e| format!("migration failed: {e}"))
}
