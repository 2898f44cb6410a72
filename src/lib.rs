//! `connect`: the service that runs the CONNECT consortium (Oslo Cancer Cluster's public-private
//! partnership in precision cancer medicine).
//!
//! Layers, top to bottom:
//! - `startup` wires configuration, the database pool and the HTTP app;
//! - `http` holds the cross-cutting HTTP machinery (JSON bodies, pagination, ETags, idempotency,
//!   observability), used the same way by every module;
//! - `auth` authenticates callers and holds the access policy in one place;
//! - one module per domain (`organisations`, `people`, `users`, `audit`), each with `routes`
//!   (thin handlers), `model` (API types and rules) and `repo` (database access);
//! - `db` chooses SQLite or PostgreSQL by URL and runs the embedded migrations.
pub mod accounts;
pub mod agreements;
pub mod allocations;
pub mod audit;
pub mod auth;
pub mod bodies;
pub mod calendar;
pub mod cohorts;
pub mod config;
pub mod core;
pub mod db;
pub mod decisions;
pub mod drugs;
pub mod error;
pub mod files;
pub mod http;
pub mod invitations;
pub mod meetings;
pub mod notifications;
pub mod openapi;
pub mod operational;
pub mod organisations;
pub mod pages;
pub mod people;
pub mod polls;
pub mod schema;
pub mod seed;
pub mod startup;
pub mod state;
pub mod users;
pub mod validation;
pub mod webhooks;
