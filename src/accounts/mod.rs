//! The account endpoints: log in, refresh, log out, `me`, change and reset a password. The session
//! store and the credential checks they use live in `auth`; this module is what a person does with
//! them.

pub mod model;
pub mod repo;
pub mod reset;
pub mod routes;
