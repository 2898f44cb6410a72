//! Where a drug stands in CONNECT: shared with the access policy, which shows other companies'
//! drugs only once they are available.

use crate::core::text_enum;

text_enum!(
    /// Whether a company's drug is on offer to the consortium.
    DrugStatus {
        /// Registered by the company, not yet on offer.
        Proposed = "proposed",
        /// On offer from `available_from`.
        Available = "available",
        /// No longer on offer.
        Withdrawn = "withdrawn",
    }
);
