//! API types of decisions and votes, and the rules that need no database (the result of a vote).
