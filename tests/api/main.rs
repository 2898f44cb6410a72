//! The API test suite: one binary, each test on its own server and its own database (a temporary
//! SQLite file, or a fresh PostgreSQL database when `CONNECT_TEST_DATABASE=postgres`). A test that
//! only makes sense on PostgreSQL is ignored with that reason (see `helpers::require_postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod abuse;
mod agreements;
mod allocations;
mod architecture;
mod auth;
mod bodies;
mod cli;
mod cohorts;
mod conditional;
mod database;
mod decisions;
mod drugs;
mod errors;
mod events;
mod idempotency;
mod invitations;
mod meeting_mail;
mod meetings;
mod multi_instance;
mod notifications;
mod openapi;
mod operations;
mod organisations;
mod password_reset;
mod people;
mod policy;
mod polls;
mod proceedings;
mod resilience;
mod security;
mod seed;
mod series;
mod smtp;
mod spec_examples;
mod spec_scopes;
mod suite;
mod tokens;
mod users;
mod webhooks;
