//! Patient allocations: one pseudonymous patient started under an agreement, taking a slot of the
//! agreement's, the drug's and the cohort stage's caps; their week-16 evaluation and funding; usage.

pub mod model;
pub mod repo;
pub mod routes;
