-- A scheduling poll's language: the language of its invitations and of its guests' answer page,
-- and the language of the meeting it turns into.
ALTER TABLE scheduling_polls ADD COLUMN language TEXT NOT NULL DEFAULT 'nb'
    CHECK (language IN ('nb', 'en'));
