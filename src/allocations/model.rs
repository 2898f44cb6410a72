//! The API types of `allocations` and their rules.
