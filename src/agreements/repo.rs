//! `agreements` in the database.
