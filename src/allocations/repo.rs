//! `allocations` in the database.
