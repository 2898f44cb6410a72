//! Invitations: an admin invites a person by e-mail to an account with a role (and
//! organisation); the message carries a one-time link; accepting it sets the name and password.

pub mod model;
pub mod repo;
pub mod routes;
