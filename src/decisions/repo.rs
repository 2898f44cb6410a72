//! Database access for decisions, their voters and votes.
