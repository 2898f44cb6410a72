//! Database access: one [`DbConn`] over SQLite and PostgreSQL, chosen by the URL's scheme.
//!
//! Handlers never touch a connection: they call [`Db::read`] or [`Db::write`], which run the work on
//! actix's blocking pool. Writes run in a transaction that is `BEGIN IMMEDIATE` on SQLite (so the
//! single writer lock is taken up front and concurrent writers wait on `busy_timeout` instead of
//! failing half-way) and a regular transaction on PostgreSQL, where invariants are kept by
//! constraints and conditional updates. On SQLite the writers of one process also queue on a
//! mutex before `BEGIN IMMEDIATE`: SQLite's busy handler waits by sleeping (up to 100 ms a time),
//! so sixteen writers contending for its lock made a busy write path's p99 seconds long, while a
//! mutex hands the lock on the moment it is free. `busy_timeout` still covers other processes.

mod migrations;
mod pool;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

pub use migrations::run_migrations;
pub use pool::{Pool, build_pool, is_connection_lost};

use crate::error::ApiError;

/// The backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite://") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// A connection to either backend. Queries written once against `schema.rs` run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(_) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub fn is_healthy(&mut self) -> bool {
        !self.is_broken() && self.ping().is_ok()
    }
}

/// Runs `f` inside a write transaction (see the module docs).
///
/// The transaction is opened through diesel's transaction manager on both backends, so it knows
/// one is open: a nested `conn.transaction(..)` inside `f` is a savepoint on SQLite as on
/// PostgreSQL, and a connection whose `COMMIT` and `ROLLBACK` both fail is reported broken (so the
/// pool drops it) rather than going back to the pool inside a transaction.
pub fn write_tx<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    type Manager = <DbConn as Connection>::TransactionManager;
    match conn {
        // `SqliteConnection::immediate_transaction` is exactly this `begin_transaction_sql` followed
        // by the commit or rollback below; it is spelled out because `f` takes the `DbConn`, not
        // the `SqliteConnection` inside it (the `DbConn`'s manager is the inner connection's).
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        // The work's own error says more than a failed rollback, which leaves the connection
        // marked broken anyway.
        Err(e) => {
            let _ = Manager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// What a request cost the database: blocking hops (each a checkout on actix's blocking pool)
/// and the statements sent in them. [`tally`] counts them for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub hops: u32,
    pub statements: u32,
}

tokio::task_local! {
    static TALLY: std::cell::Cell<Tally>;
}

/// Runs `fut` (a request) and counts the database work it does through [`Db`].
pub async fn tally<F: std::future::Future>(fut: F) -> (F::Output, Tally) {
    TALLY
        .scope(std::cell::Cell::new(Tally::default()), async move {
            let out = fut.await;
            (out, TALLY.with(std::cell::Cell::get))
        })
        .await
}

fn count_hop(statements: u32) {
    let _ = TALLY.try_with(|t| {
        let mut v = t.get();
        v.hops += 1;
        v.statements += statements;
        t.set(v);
    });
}

/// The shared handle to the pool, kept in the app data.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// Queues this process's SQLite writers (see the module docs); unused on PostgreSQL.
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        Self {
            pool,
            writer: std::sync::Arc::default(),
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs read work on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let (result, statements) = actix_web::web::block(move || {
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(e) => return (Err(ApiError::from_pool(e)), 0),
            };
            let result = f(&mut conn);
            (result, pool::statements_since_checkout(&mut conn))
        })
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?;
        count_hop(statements);
        result
    }

    /// Runs write work in a transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
    {
        let writer = self.writer.clone();
        self.read(move |conn| {
            let _queued = match conn {
                // A writer that panicked left nothing half-done behind the mutex (its transaction
                // rolled back with the connection), so a poisoned lock is taken as it is.
                DbConn::Sqlite(_) => Some(writer.lock().unwrap_or_else(|e| e.into_inner())),
                DbConn::Pg(_) => None,
            };
            write_tx(conn, f)
        })
        .await
    }

    /// True when a connection can be had and answers a ping within a second.
    pub async fn ready(&self) -> bool {
        let pool = self.pool.clone();
        let (ready, statements) = actix_web::web::block(move || {
            match pool.get_timeout(std::time::Duration::from_secs(1)) {
                Ok(mut c) => (c.ping().is_ok(), pool::statements_since_checkout(&mut c)),
                Err(_) => (false, 0),
            }
        })
        .await
        .unwrap_or((false, 0));
        count_hop(statements);
        ready
    }
}

/// Narrows a boxed query sorted by `(sort, id)` to the rows after the key `(sort value, id)` of a
/// previous page (`PageRequest::after_two`), as the row-value comparison `(sort, id) > (value, id)`
/// (see [`RowAfter`]), which both databases answer by seeking into the `(sort, id)` index: a deep
/// page costs what the first one does, even where many rows share one sort value.
macro_rules! seek_after {
    ($query:expr, $after:expr, $sort:expr, $id:expr) => {
        match $after {
            Some((value, id)) => $query.filter($crate::db::row_after(
                $sort,
                $id,
                value.to_owned(),
                id.to_owned(),
            )),
            None => $query,
        }
    };
}
pub(crate) use seek_after;

/// `(a, b) > (value of a, value of b)`: the keyset condition of [`seek_after!`]. Written as a row
/// value rather than `a > x OR (a = x AND b > y)`, because that form only lets the databases range
/// on `a` and then filter every row sharing its value; the row value is one index range on
/// `(a, b)` in PostgreSQL and in SQLite (3.15 and later).
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
pub struct RowAfter<A, B, X, Y> {
    a: A,
    b: B,
    x: X,
    y: Y,
}

/// [`RowAfter`] of columns `a`, `b` and the values `x`, `y` of a previous page's last row.
pub fn row_after<A, B, X, Y>(a: A, b: B, x: X, y: Y) -> RowAfter<A, B, X::Expression, Y::Expression>
where
    A: diesel::Expression,
    B: diesel::Expression,
    X: diesel::expression::AsExpression<A::SqlType>,
    Y: diesel::expression::AsExpression<B::SqlType>,
    A::SqlType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
    B::SqlType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
    RowAfter {
        a,
        b,
        x: x.as_expression(),
        y: y.as_expression(),
    }
}

impl<A, B, X, Y> diesel::Expression for RowAfter<A, B, X, Y> {
    type SqlType = diesel::sql_types::Bool;
}

impl<A, B, X, Y, QS> diesel::AppearsOnTable<QS> for RowAfter<A, B, X, Y>
where
    A: diesel::AppearsOnTable<QS>,
    B: diesel::AppearsOnTable<QS>,
    X: diesel::AppearsOnTable<QS>,
    Y: diesel::AppearsOnTable<QS>,
{
}

impl<A, B, X, Y, G> diesel::expression::ValidGrouping<G> for RowAfter<A, B, X, Y>
where
    A: diesel::expression::ValidGrouping<G>,
    B: diesel::expression::ValidGrouping<G>,
    X: diesel::expression::ValidGrouping<G>,
    Y: diesel::expression::ValidGrouping<G>,
    A::IsAggregate: diesel::expression::MixedAggregates<
            B::IsAggregate,
            Output = diesel::expression::is_aggregate::No,
        >,
{
    type IsAggregate = diesel::expression::is_aggregate::No;
}

impl<A, B, X, Y, DB> diesel::query_builder::QueryFragment<DB> for RowAfter<A, B, X, Y>
where
    DB: diesel::backend::Backend,
    A: diesel::query_builder::QueryFragment<DB>,
    B: diesel::query_builder::QueryFragment<DB>,
    X: diesel::query_builder::QueryFragment<DB>,
    Y: diesel::query_builder::QueryFragment<DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("((");
        self.a.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.b.walk_ast(out.reborrow())?;
        out.push_sql(") > (");
        self.x.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.y.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

/// Runs an outbox's claim statement: `sql` has `{LOCK}` where the row lock goes (`FOR UPDATE SKIP
/// LOCKED` on PostgreSQL, so instances sharing the database never take the same row; nothing on
/// SQLite, whose writers queue) and binds, in order, the worker, now, the time before which a
/// claim is stale, and the batch size. Run inside a write transaction.
pub fn claim_due<R>(
    conn: &mut DbConn,
    sql: &str,
    worker: &str,
    now: chrono::NaiveDateTime,
    stale_before: chrono::NaiveDateTime,
    limit: i32,
) -> Result<Vec<R>, diesel::result::Error>
where
    R: diesel::QueryableByName<diesel::pg::Pg>
        + diesel::QueryableByName<diesel::sqlite::Sqlite>
        + 'static,
{
    use diesel::sql_types::{Integer, Text, Timestamp};
    match conn {
        DbConn::Pg(c) => diesel::sql_query(sql.replace("{LOCK}", "FOR UPDATE SKIP LOCKED"))
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(stale_before)
            .bind::<Integer, _>(limit)
            .load(c),
        DbConn::Sqlite(c) => diesel::sql_query(sql.replace("{LOCK}", ""))
            .bind::<Text, _>(worker)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(stale_before)
            .bind::<Integer, _>(limit)
            .load(c),
    }
}

/// SQL functions used in queries written once for both backends.
pub mod functions {
    use diesel::sql_types::{Nullable, Text};
    diesel::define_sql_function! {
        /// `lower(text)`: as the unique indexes on `lower(…)` compare (on SQLite, ASCII only).
        fn lower(x: Text) -> Text;
    }
    diesel::define_sql_function! {
        /// Lower case over all of Unicode, for case-insensitive search (`fold_case(name) LIKE
        /// '%text%'`, the pattern from [`super::like_pattern`]): PostgreSQL's `lower` (a SQL
        /// function migration `000023_text_search` creates), on SQLite Rust's `to_lowercase`,
        /// registered on each connection, where the built-in `lower` folds ASCII only.
        fn fold_case(x: Nullable<Text>) -> Nullable<Text>;
    }
}

/// How a list's text search `q` narrows it ([`text_search`]).
pub enum TextSearch {
    /// Exactly the records with these ids match (SQLite, from its trigram index).
    Ids(Vec<String>),
    /// Each searched column `fold_case(column) LIKE pattern ESCAPE '\'` (see [`like_pattern`]);
    /// PostgreSQL answers it from its pg_trgm indexes, SQLite by reading the list in order.
    Like(String),
}

/// The most ids [`text_search`] hands out; beyond them, the matches are frequent enough that
/// reading the list in its order finds a page sooner than collecting every match.
const SEARCH_IDS_MAX: usize = 1000;

/// How the trimmed, non-empty search text `q` narrows a list whose records SQLite indexes in the
/// FTS5 trigram table `{index}_search` (keys table `{index}_search_keys`: `search_rowid`, `key`;
/// see migration `000023_text_search`, whose triggers keep both in step). `None` without text.
///
/// On SQLite, text of three or more characters is looked up there first, case-insensitively over
/// all of Unicode, as an FTS5 phrase (a substring of one column). Up to [`SEARCH_IDS_MAX`] matches
/// come back as their ids; more (a common word, where a scan in list order soon fills a page), or
/// text shorter than a trigram, or PostgreSQL (whose pg_trgm indexes serve `LIKE`, chosen by its
/// planner) give the `LIKE` pattern, which matches the same records.
pub fn text_search(
    conn: &mut DbConn,
    q: Option<&str>,
    index: &str,
    key: &str,
) -> Result<Option<TextSearch>, diesel::result::Error> {
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let Some(text) = q.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let DbConn::Sqlite(c) = conn
        && text.chars().count() >= 3
    {
        // An FTS5 phrase ("…", inner quotes doubled) matches as written.
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        let keys: Vec<Key> = diesel::sql_query(format!(
            "SELECT {key} AS key FROM {index}_search_keys WHERE search_rowid IN \
             (SELECT rowid FROM {index}_search WHERE {index}_search MATCH ? LIMIT {})",
            SEARCH_IDS_MAX + 1
        ))
        .bind::<diesel::sql_types::Text, _>(phrase)
        .load(c)?;
        if keys.len() <= SEARCH_IDS_MAX {
            return Ok(Some(TextSearch::Ids(
                keys.into_iter().map(|k| k.key).collect(),
            )));
        }
    }
    Ok(Some(TextSearch::Like(like_pattern(text))))
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a `LIKE` pattern (escape `\`).
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
