//! The partner register: organisations, their membership status and its history.

pub mod model;
pub mod repo;
pub mod routes;
