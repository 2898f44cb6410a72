//! The API types of `agreements` and their rules.
