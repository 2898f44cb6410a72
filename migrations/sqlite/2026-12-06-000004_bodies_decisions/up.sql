-- Governance: the bodies of the consortium (the board, the general assembly, the working groups),
-- who sits in them, and what they decide by vote. The rules a vote is judged by are copied onto
-- the decision when it opens, and the voters are fixed then too (`decision_voters`), so a later
-- change of a body's rules or seats never changes an open or a closed vote.

CREATE TABLE bodies (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('board', 'general_assembly', 'working_group', 'other')),
    name TEXT NOT NULL,
    short_name TEXT,
    mandate TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('active', 'dissolved')),
    started_on DATE,
    ended_on DATE,
    -- Quorum: at least this percentage of the members eligible when a vote opens must vote
    -- (yes, no or abstain).
    quorum_percent INTEGER NOT NULL DEFAULT 50 CHECK (quorum_percent BETWEEN 0 AND 100),
    -- Majority of the votes cast, abstentions not counted: more yes than no, or at least two
    -- thirds yes.
    majority TEXT NOT NULL DEFAULT 'simple' CHECK (majority IN ('simple', 'two_thirds')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on)
);
CREATE UNIQUE INDEX bodies_name ON bodies (lower(name));
CREATE INDEX bodies_created ON bodies (created_at, id);

-- A seat in a body. A member who leaves keeps the row, with the day they left (`to_date`).
CREATE TABLE body_members (
    id TEXT PRIMARY KEY NOT NULL,
    body_id TEXT NOT NULL REFERENCES bodies (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    role TEXT NOT NULL CHECK (role IN ('chair', 'co_chair', 'secretary', 'member', 'observer')),
    from_date DATE NOT NULL,
    to_date DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (to_date IS NULL OR to_date >= from_date)
);
-- One open-ended seat per person and body (overlapping dated seats are refused by the service).
CREATE UNIQUE INDEX body_members_open ON body_members (body_id, person_id) WHERE to_date IS NULL;
CREATE INDEX body_members_body ON body_members (body_id, from_date, id);
CREATE INDEX body_members_person ON body_members (person_id, from_date, id);

CREATE TABLE decisions (
    id TEXT PRIMARY KEY NOT NULL,
    body_id TEXT NOT NULL REFERENCES bodies (id),
    -- The meeting it was taken at (the meetings module links it).
    meeting_id TEXT,
    -- A reference people cite, e.g. BOARD-2026-14 (unique when given).
    reference TEXT,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('resolution', 'recommendation')),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'open', 'adopted', 'rejected', 'withdrawn')),
    -- Only the counts are kept when the vote closes; who voted how is erased.
    secret_ballot BOOLEAN NOT NULL DEFAULT FALSE,
    -- What the decision is about: its people's members are recused from voting on it.
    subject_organisation_id TEXT REFERENCES organisations (id),
    subject_agreement_id TEXT REFERENCES agreements (id),
    -- The body's rules, copied when the vote opens.
    quorum_percent INTEGER CHECK (quorum_percent IS NULL OR quorum_percent BETWEEN 0 AND 100),
    majority TEXT CHECK (majority IS NULL OR majority IN ('simple', 'two_thirds')),
    opened_at TIMESTAMP,
    deadline TIMESTAMP,
    -- Voting members (not recused) when the vote opened, and the votes the quorum needs.
    eligible_count INTEGER,
    quorum INTEGER,
    -- The result, stored when the vote closes.
    closed_at TIMESTAMP,
    closed_by TEXT,
    yes_count INTEGER,
    no_count INTEGER,
    abstain_count INTEGER,
    quorum_reached BOOLEAN,
    -- When the reminder to those who had not voted went out (once).
    reminded_at TIMESTAMP,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (status <> 'open' OR (opened_at IS NOT NULL AND deadline IS NOT NULL)),
    CHECK (status NOT IN ('adopted', 'rejected') OR closed_at IS NOT NULL)
);
CREATE UNIQUE INDEX decisions_reference ON decisions (lower(reference));
CREATE INDEX decisions_body ON decisions (body_id, created_at, id);
CREATE INDEX decisions_created ON decisions (created_at, id);
CREATE INDEX decisions_due ON decisions (status, deadline);
CREATE INDEX decisions_subject_organisation ON decisions (subject_organisation_id);
CREATE INDEX decisions_subject_agreement ON decisions (subject_agreement_id);

-- Who may vote on a decision, fixed when its vote opens, with each one's vote and any recusal.
-- A recused voter never has a vote (CHECK); in a secret ballot the choices are erased at the
-- close (the counts are on the decision) and only that they voted remains.
CREATE TABLE decision_voters (
    decision_id TEXT NOT NULL REFERENCES decisions (id),
    person_id TEXT NOT NULL REFERENCES people (id),
    -- The voter's organisation when the vote opened.
    organisation_id TEXT,
    recused BOOLEAN NOT NULL DEFAULT FALSE,
    -- 'own_organisation' (set by the service) or 'declared' (by the member).
    recusal_kind TEXT CHECK (recusal_kind IS NULL OR recusal_kind IN ('own_organisation', 'declared')),
    recusal_reason TEXT,
    recused_at TIMESTAMP,
    choice TEXT CHECK (choice IS NULL OR choice IN ('yes', 'no', 'abstain')),
    voted_at TIMESTAMP,
    PRIMARY KEY (decision_id, person_id),
    CHECK (NOT (recused AND choice IS NOT NULL))
);
CREATE INDEX decision_voters_person ON decision_voters (person_id, decision_id);

-- A membership change or an agreement's transition may cite the decision that approved it.
ALTER TABLE membership_changes ADD COLUMN decision_id TEXT REFERENCES decisions (id);
ALTER TABLE agreement_events ADD COLUMN decision_id TEXT REFERENCES decisions (id);
