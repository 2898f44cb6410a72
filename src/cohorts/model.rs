//! The API types of `cohorts` and their rules.
