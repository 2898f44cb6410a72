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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use diesel::migration::MigrationSource;

    /// A file whose first line starts so may differ between the backends; the rest of the line says
    /// why, e.g. `-- backend-specific: PostgreSQL has SKIP LOCKED`.
    const MARKER: &str = "-- backend-specific:";

    /// Every file (`<migration>/<file>`) under a backend's migrations folder.
    fn files(dir: &Path) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for migration in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(migration.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                out.insert(format!(
                    "{}/{}",
                    migration.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                ));
            }
        }
        out
    }

    fn marked(text: &str) -> Option<&str> {
        text.lines().next()?.strip_prefix(MARKER).map(str::trim)
    }

    /// How the SQLite and PostgreSQL migrations under `root` differ, beyond the marked files.
    fn drift(root: &Path) -> Vec<String> {
        let (sqlite, postgres) = (root.join("sqlite"), root.join("postgres"));
        let (a, b) = (files(&sqlite), files(&postgres));
        let mut problems = Vec::new();
        for only in a.difference(&b) {
            problems.push(format!("{only}: only in migrations/sqlite"));
        }
        for only in b.difference(&a) {
            problems.push(format!("{only}: only in migrations/postgres"));
        }
        for name in a.intersection(&b) {
            let s = std::fs::read_to_string(sqlite.join(name)).unwrap_or_default();
            let p = std::fs::read_to_string(postgres.join(name)).unwrap_or_default();
            match (marked(&s), marked(&p)) {
                (Some(why_s), Some(why_p)) => {
                    if why_s.is_empty() || why_p.is_empty() {
                        problems.push(format!("{name}: `{MARKER}` needs a reason after it"));
                    }
                    continue;
                }
                (Some(_), None) | (None, Some(_)) => {
                    problems.push(format!(
                        "{name}: marked `{MARKER}` for one backend only; mark both copies"
                    ));
                    continue;
                }
                (None, None) => {}
            }
            if s == p {
                continue;
            }
            let (sl, pl): (Vec<&str>, Vec<&str>) = (s.lines().collect(), p.lines().collect());
            let line = (0..sl.len().max(pl.len()))
                .find(|&i| sl.get(i) != pl.get(i))
                .unwrap_or(sl.len());
            problems.push(format!(
                "{name} differs from line {}:\n    sqlite:   {}\n    postgres: {}\n  \
                 (make them identical, or start both with `{MARKER} <why>`)",
                line + 1,
                sl.get(line).copied().unwrap_or("<end of file>"),
                pl.get(line).copied().unwrap_or("<end of file>"),
            ));
        }
        problems
    }

    #[test]
    fn sqlite_and_postgres_migrations_are_identical_but_for_marked_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        assert!(files(&root.join("sqlite")).len() >= 4);
        let problems = drift(&root);
        assert!(
            problems.is_empty(),
            "the two backends' migrations drifted apart:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn drift_is_reported_file_by_file_and_marked_files_may_differ() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("sqlite/1_same/up.sql", "CREATE TABLE a (x INTEGER);\n");
        write("postgres/1_same/up.sql", "CREATE TABLE a (x INTEGER);\n");
        write("sqlite/2_drift/up.sql", "CREATE TABLE b (\n  x TEXT\n);\n");
        write(
            "postgres/2_drift/up.sql",
            "CREATE TABLE b (\n  x JSONB\n);\n",
        );
        write(
            "sqlite/3_own/up.sql",
            "-- backend-specific: no SKIP LOCKED\nSELECT 1;\n",
        );
        write(
            "postgres/3_own/up.sql",
            "-- backend-specific: SKIP LOCKED\nSELECT 2;\n",
        );
        write(
            "sqlite/4_half/up.sql",
            "-- backend-specific: why\nSELECT 1;\n",
        );
        write("postgres/4_half/up.sql", "SELECT 2;\n");
        write("sqlite/5_alone/up.sql", "SELECT 1;\n");
        let problems = drift(dir.path());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("5_alone/up.sql: only in migrations/sqlite"));
        assert!(problems[1].starts_with("2_drift/up.sql differs from line 2:"));
        assert!(problems[1].contains("x TEXT") && problems[1].contains("x JSONB"));
        assert!(problems[2].starts_with("4_half/up.sql: marked"));
    }

    /// Databases record the versions (the timestamp before the first `_`) of the migrations they
    /// ran; a migration's version must never change, or they would run it again. Its name may.
    #[test]
    fn released_migration_versions_are_kept_in_order() {
        let released = ["20261123000001", "20261123000002"];
        for (name, set) in [("sqlite", super::SQLITE), ("postgres", super::POSTGRES)] {
            let versions: Vec<String> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&set)
                .unwrap()
                .iter()
                .map(|m| m.name().version().to_string())
                .collect();
            assert_eq!(&versions[..released.len()], released, "{name}");
            let mut sorted = versions.clone();
            sorted.sort();
            assert_eq!(versions, sorted, "{name}");
        }
    }
}
