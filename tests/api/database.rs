//! The database layer behaves the same on both backends.

use connect::db::{Backend, Db, DbConn, build_pool};
use connect::error::ApiError;
use connect::schema::login_throttle as lt;
use diesel::prelude::*;

use crate::helpers::*;

fn insert(conn: &mut DbConn, account: &str) -> QueryResult<usize> {
    diesel::insert_into(lt::table)
        .values((
            lt::account.eq(account),
            lt::failures.eq(0),
            lt::window_started_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(conn)
}

async fn accounts(db: &Db) -> Vec<String> {
    db.read(|conn| {
        Ok(lt::table
            .select(lt::account)
            .order(lt::account)
            .load::<String>(conn)?)
    })
    .await
    .unwrap()
}

/// `Db::write` opens its transaction through diesel's transaction manager, so a nested
/// `transaction()` is a savepoint on SQLite (whose writes begin `IMMEDIATE`) as on PostgreSQL.
#[tokio::test]
async fn a_nested_transaction_in_a_write_is_a_savepoint_on_both_backends() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    let db = Db::new(build_pool(&url, Backend::from_url(&url).unwrap(), 2).unwrap());

    db.write(|conn| {
        insert(conn, "outer")?;
        let rolled_back = conn.transaction::<(), diesel::result::Error, _>(|conn| {
            insert(conn, "inner, rolled back")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(
            matches!(rolled_back, Err(diesel::result::Error::RollbackTransaction)),
            "{rolled_back:?}"
        );
        conn.transaction(|conn| insert(conn, "inner, kept"))?;
        // Savepoints nest further.
        conn.transaction(|conn| conn.transaction(|conn| insert(conn, "inner, nested twice")))?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(
        accounts(&db).await,
        ["inner, kept", "inner, nested twice", "outer"]
    );

    // An error in the outer work rolls back what its savepoints released.
    let failed = db
        .write(|conn| {
            conn.transaction(|conn| insert(conn, "released, then rolled back"))?;
            Err::<(), _>(ApiError::internal("the outer work fails"))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(accounts(&db).await.len(), 3);

    // And the connection is usable afterwards (no transaction left open).
    db.write(|conn| Ok(insert(conn, "after")?)).await.unwrap();
    assert_eq!(accounts(&db).await.len(), 4);
}
