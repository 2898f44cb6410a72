//! API types of bodies and their seats, and the rules that need no database.
