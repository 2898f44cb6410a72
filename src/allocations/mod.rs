//! Patient allocations: one pseudonymous patient started under an agreement, taking a slot of the
//! agreement's, the drug's and the cohort stage's caps; their week-16 evaluation and funding; usage.

pub mod caps;
pub mod digest;
pub mod model;
pub mod repo;
pub mod routes;
pub mod usage;
pub mod write;
