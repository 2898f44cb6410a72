-- Drugs a company contributes, and the molecular targets or alterations each addresses.
-- One drug per company, generic name (INN), form and strength, compared case-insensitively.
CREATE TABLE drugs (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    generic_name TEXT NOT NULL,
    brand_name TEXT,
    atc_code TEXT,
    form TEXT,
    strength TEXT,
    status TEXT NOT NULL,
    available_from DATE,
    notes TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX drugs_unique_product ON drugs (
    organisation_id, lower(generic_name), coalesce(lower(form), ''), coalesce(lower(strength), '')
);
CREATE INDEX drugs_generic_name ON drugs (generic_name, id);
CREATE INDEX drugs_atc_code ON drugs (atc_code);

CREATE TABLE drug_targets (
    drug_id TEXT NOT NULL REFERENCES drugs (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    PRIMARY KEY (drug_id, target)
);
CREATE INDEX drug_targets_target ON drug_targets (lower(target), drug_id);
