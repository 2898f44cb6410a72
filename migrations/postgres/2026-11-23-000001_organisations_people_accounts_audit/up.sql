CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('pharma','biotech','hospital','university','research_institute','authority','patient_organisation','industry_association','technology','other')),
    sector TEXT NOT NULL CHECK (sector IN ('public','private','non_profit')),
    org_number TEXT UNIQUE,
    country TEXT NOT NULL,
    website TEXT,
    health_region TEXT CHECK (health_region IS NULL OR health_region IN ('south_east','west','central','north')),
    trial_site BOOLEAN NOT NULL DEFAULT FALSE,
    membership_status TEXT NOT NULL DEFAULT 'none' CHECK (membership_status IN ('none','applicant','partner','observer','suspended','withdrawn')),
    founding_partner BOOLEAN NOT NULL DEFAULT FALSE,
    joined_on DATE,
    left_on DATE,
    archived_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0)
);
CREATE INDEX organisations_name_idx ON organisations (name, id);
CREATE UNIQUE INDEX organisations_name_unique ON organisations (lower(name));
CREATE INDEX organisations_status_idx ON organisations (membership_status);

CREATE TABLE membership_changes (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    effective_date DATE NOT NULL,
    reason TEXT NOT NULL,
    decision_reference TEXT,
    changed_by TEXT,
    recorded_at TIMESTAMP NOT NULL,
    -- The allowed transitions, kept by the database too.
    CHECK (from_status || '>' || to_status IN (
        'none>applicant', 'none>partner', 'none>observer',
        'applicant>partner', 'applicant>observer', 'applicant>none',
        'partner>observer', 'partner>suspended', 'partner>withdrawn',
        'observer>partner', 'observer>suspended', 'observer>withdrawn',
        'suspended>partner', 'suspended>observer', 'suspended>withdrawn',
        'withdrawn>applicant'))
);
CREATE INDEX membership_changes_org_idx ON membership_changes (organisation_id, effective_date, id);

CREATE TABLE people (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT REFERENCES organisations (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    title TEXT,
    phone TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX people_org_idx ON people (organisation_id);
CREATE INDEX people_name_idx ON people (name, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin','partner_representative','observer_representative')),
    organisation_id TEXT REFERENCES organisations (id),
    person_id TEXT UNIQUE REFERENCES people (id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deactivated_at TIMESTAMP,
    password_changed_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((role = 'admin' AND organisation_id IS NULL) OR (role <> 'admin' AND organisation_id IS NOT NULL))
);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, id);

CREATE TABLE login_throttle (
    account TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_events_record_idx ON audit_events (record_type, record_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id);

CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER,
    response_headers TEXT,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, idem_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
