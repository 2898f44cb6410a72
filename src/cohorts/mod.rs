//! Cohorts: one tumour type + one molecular alteration + one drug under an agreement, grown by a
//! Simon two-stage-like plan whose rule the service applies as outcomes arrive.

pub mod model;
pub mod repo;
pub mod routes;
