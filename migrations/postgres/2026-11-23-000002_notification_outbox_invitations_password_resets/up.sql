-- The language a person reads their e-mail in.
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'nb' CHECK (language IN ('nb', 'en'));

-- The outbox: written in the same transaction as the change that causes it, sent by the worker.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_name TEXT,
    recipient_user_id TEXT REFERENCES users (id),
    language TEXT NOT NULL CHECK (language IN ('nb', 'en')),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    claimed_by TEXT,
    claimed_at TIMESTAMP,
    sent_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_due_idx ON notifications (state, next_attempt_at);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_user_id, id);

-- Opt-outs of optional kinds; no row means the default (receive).
CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'partner_representative', 'observer_representative')),
    organisation_id TEXT REFERENCES organisations (id),
    language TEXT NOT NULL CHECK (language IN ('nb', 'en')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    revoked_at TIMESTAMP,
    user_id TEXT REFERENCES users (id)
);
-- At most one open invitation per address: re-inviting replaces its token.
CREATE UNIQUE INDEX invitations_open_email ON invitations (email) WHERE accepted_at IS NULL AND revoked_at IS NULL;

CREATE TABLE password_resets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id, created_at);
