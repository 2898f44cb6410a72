-- Drug-supply agreements, the drugs each covers, the cohorts patients are treated in, and the
-- patients (allocations) started under them. The caps are kept by the database: every counter
-- has a CHECK that it never passes its cap, and allocations raise the counters with conditional
-- updates in the allocation's own transaction, so simultaneous requests on any number of
-- instances can never exceed a cap.

CREATE TABLE agreements (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'active', 'suspended', 'ended')),
    signed_on DATE,
    effective_from DATE,
    effective_to DATE,
    patient_cap INTEGER NOT NULL CHECK (patient_cap >= 0),
    patients_used INTEGER NOT NULL DEFAULT 0,
    funded_weeks INTEGER NOT NULL DEFAULT 16 CHECK (funded_weeks BETWEEN 1 AND 104),
    -- A JSON array of {"title", "url"}: links to the signed documents.
    documents TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    -- When the 80 % and 100 % notices of the agreement's cap went out (each once).
    cap_80_notified_at TIMESTAMP,
    cap_100_notified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (patients_used >= 0 AND patients_used <= patient_cap),
    CHECK (effective_to IS NULL OR effective_from IS NULL OR effective_to >= effective_from)
);
CREATE UNIQUE INDEX agreements_reference ON agreements (lower(reference));
CREATE INDEX agreements_organisation ON agreements (organisation_id, id);
CREATE INDEX agreements_created ON agreements (created_at, id);

CREATE TABLE agreement_drugs (
    agreement_id TEXT NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    drug_id TEXT NOT NULL REFERENCES drugs (id),
    -- The drug's own cap within the agreement, if any.
    patient_cap INTEGER CHECK (patient_cap IS NULL OR patient_cap >= 0),
    patients_used INTEGER NOT NULL DEFAULT 0,
    cap_80_notified_at TIMESTAMP,
    cap_100_notified_at TIMESTAMP,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (agreement_id, drug_id),
    CHECK (patients_used >= 0 AND (patient_cap IS NULL OR patients_used <= patient_cap))
);
CREATE INDEX agreement_drugs_drug ON agreement_drugs (drug_id);

-- The agreement's history: every transition (who, why) and every amendment (what changed).
CREATE TABLE agreement_events (
    id TEXT PRIMARY KEY NOT NULL,
    agreement_id TEXT NOT NULL REFERENCES agreements (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('created', 'submitted', 'activated', 'suspended', 'ended', 'amended')),
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT,
    decision_reference TEXT,
    -- For an amendment: a JSON object of what changed, {"field": {"from": …, "to": …}}.
    changes TEXT,
    actor_user_id TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX agreement_events_agreement ON agreement_events (agreement_id, occurred_at, id);

CREATE TABLE cohorts (
    id TEXT PRIMARY KEY NOT NULL,
    agreement_id TEXT NOT NULL REFERENCES agreements (id),
    drug_id TEXT NOT NULL REFERENCES drugs (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    tumour_type TEXT NOT NULL,
    alteration TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('stage_1', 'stage_2', 'expansion', 'closed')),
    status TEXT NOT NULL CHECK (status IN ('open', 'awaiting_evaluation', 'eligible_for_expansion', 'closed')),
    stage1_size INTEGER NOT NULL DEFAULT 8 CHECK (stage1_size >= 1),
    stage2_size INTEGER NOT NULL DEFAULT 24,
    -- Patients with benefit that open stage 2 (1), and that make the cohort eligible for
    -- expansion (5 of the 24).
    stage2_target INTEGER NOT NULL DEFAULT 1 CHECK (stage2_target >= 1),
    expansion_target INTEGER NOT NULL DEFAULT 5 CHECK (expansion_target >= 1),
    expansion_size INTEGER CHECK (expansion_size IS NULL OR expansion_size >= 1),
    -- Patients the current stage may hold in all (8, then 24, then 24 + the expansion's size).
    stage_limit INTEGER NOT NULL,
    -- Patients in the cohort (allocations not withdrawn).
    enrolled INTEGER NOT NULL DEFAULT 0,
    closed_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (stage2_size > stage1_size AND stage2_target <= stage1_size AND expansion_target <= stage2_size),
    CHECK (enrolled >= 0 AND enrolled <= stage_limit)
);
CREATE INDEX cohorts_agreement ON cohorts (agreement_id, id);
CREATE INDEX cohorts_created ON cohorts (created_at, id);
CREATE UNIQUE INDEX cohorts_unique ON cohorts (agreement_id, drug_id, lower(tumour_type), lower(alteration));

CREATE TABLE cohort_events (
    id TEXT PRIMARY KEY NOT NULL,
    cohort_id TEXT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT,
    -- Benefits and patients at the time, for the record.
    enrolled INTEGER NOT NULL,
    benefits INTEGER NOT NULL,
    actor_user_id TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX cohort_events_cohort ON cohort_events (cohort_id, occurred_at, id);

CREATE TABLE allocations (
    id TEXT PRIMARY KEY NOT NULL,
    agreement_id TEXT NOT NULL REFERENCES agreements (id),
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    drug_id TEXT NOT NULL REFERENCES drugs (id),
    site_id TEXT NOT NULL REFERENCES organisations (id),
    cohort_id TEXT NOT NULL REFERENCES cohorts (id),
    -- Pseudonymous: no name field exists, and the service refuses national identity numbers.
    trial_code TEXT NOT NULL,
    -- The cohort's stage when the patient started (an expansion patient's benefit moves them to
    -- public funding).
    cohort_stage TEXT NOT NULL CHECK (cohort_stage IN ('stage_1', 'stage_2', 'expansion')),
    started_on DATE NOT NULL,
    evaluation_due DATE NOT NULL,
    outcome TEXT NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'complete_response',
        'partial_response', 'stable_disease', 'progressive_disease', 'not_evaluable', 'discontinued')),
    evaluated_on DATE,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    withdrawn_reason TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- A trial code is unique among the patients who count; withdrawn ones may be entered again. The
-- plain index serves look-ups, whose status condition is a bound parameter (a partial index is
-- used only when the query repeats its condition literally).
CREATE UNIQUE INDEX allocations_trial_code ON allocations (lower(trial_code)) WHERE status = 'active';
CREATE INDEX allocations_trial_code_lookup ON allocations (lower(trial_code));
CREATE INDEX allocations_agreement ON allocations (agreement_id, created_at, id);
CREATE INDEX allocations_created ON allocations (created_at, id);
CREATE INDEX allocations_cohort ON allocations (cohort_id, outcome);
CREATE INDEX allocations_agreement_usage ON allocations (agreement_id, status, outcome, cohort_id, site_id);
CREATE INDEX allocations_site ON allocations (site_id, created_at, id);
-- Evaluations falling due: per agreement (usage), and across the consortium (overview, digest).
CREATE INDEX allocations_agreement_due ON allocations (agreement_id, status, outcome, evaluation_due);
CREATE INDEX allocations_due ON allocations (status, outcome, evaluation_due, agreement_id);

-- Who pays for a patient when: the company from the start, the public from the day a patient in an
-- expansion cohort shows benefit.
CREATE TABLE allocation_funding (
    allocation_id TEXT NOT NULL REFERENCES allocations (id) ON DELETE CASCADE,
    payer TEXT NOT NULL CHECK (payer IN ('company', 'public')),
    from_date DATE NOT NULL,
    to_date DATE,
    PRIMARY KEY (allocation_id, from_date, payer)
);

-- Jobs the worker runs once per period whichever instance gets there first (the weekly digest).
CREATE TABLE scheduled_runs (
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    ran_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job, period)
);
