//! Record identifiers: UUID v7 (time-ordered), stored as hyphenated text on both backends.

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}
