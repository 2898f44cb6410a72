//! What the account endpoints write beyond the session store: the security messages.

use crate::db::DbConn;
use crate::error::ApiError;

/// Tells a user their password changed (a security message: always sent).
pub fn notify_password_changed(
    conn: &mut DbConn,
    mailer: &crate::notifications::Mailer,
    user_id: &str,
) -> Result<(), ApiError> {
    let to = crate::notifications::repo::recipient_for_user(conn, user_id)?;
    let changed_at = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    crate::notifications::enqueue(
        conn,
        mailer,
        crate::notifications::Kind::PasswordChanged,
        &to,
        serde_json::json!({"changed_at": changed_at}),
    )?;
    Ok(())
}
