//! `cohorts` in the database.
