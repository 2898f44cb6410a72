-- backend-specific: SQLite has no ALTER TABLE … ADD CONSTRAINT, so the capacity check sits on the registered_count column there and is a named table constraint on PostgreSQL.
-- The rest of meeting scheduling: e-mails with a calendar part, series, attendance, reminders,
-- personal calendar feeds, agenda, minutes, action items, open-event registrations and
-- scheduling polls.

-- An e-mail may carry an iCalendar part (RFC 5546: METHOD:REQUEST or CANCEL), sent as
-- text/calendar beside the text and HTML.
ALTER TABLE notifications ADD COLUMN calendar TEXT;

-- A series: a meeting with an RFC 5545 RRULE (e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU) is the
-- series' master; its starts_at/ends_at are the first occurrence, expanded in its time zone.
-- An occurrence moved or cancelled alone is a row with series_id (the master) and occurrence_of
-- (the occurrence's original start, RFC 5545 RECURRENCE-ID); the other occurrences are never
-- stored. Editing "this and following" ends the master with an UNTIL and starts a new master.
ALTER TABLE meetings ADD COLUMN rrule TEXT;
-- Open events: how many may attend, and how many registrations hold a place (kept by
-- conditional updates, so two instances never give more places than the capacity).
ALTER TABLE meetings ADD COLUMN capacity INTEGER CHECK (capacity IS NULL OR capacity > 0);
ALTER TABLE meetings ADD COLUMN registered_count INTEGER NOT NULL DEFAULT 0 CHECK (registered_count >= 0);
ALTER TABLE meetings ADD CONSTRAINT meetings_capacity_held CHECK (capacity IS NULL OR registered_count <= capacity);
CREATE UNIQUE INDEX meetings_occurrence ON meetings (series_id, occurrence_of);
-- An occurrence changed alone keeps its series' UID (it is told apart by its RECURRENCE-ID), so
-- the UID is unique among the meetings that are not such occurrences.
DROP INDEX meetings_uid;
CREATE UNIQUE INDEX meetings_uid ON meetings (uid) WHERE occurrence_of IS NULL;

-- Attendance, recorded when the meeting is held.
ALTER TABLE meeting_invitees ADD COLUMN attendance TEXT
    CHECK (attendance IS NULL OR attendance IN ('present', 'absent', 'excused'));

-- The day-before reminders sent: one per invitee and occurrence (a plain meeting's occurrence is
-- its start), across instances.
CREATE TABLE meeting_reminders (
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    occurrence_start TIMESTAMP NOT NULL,
    invitee_id TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (meeting_id, occurrence_start, invitee_id)
);

-- A person's calendar feed: the secret in the URL is stored as its SHA-256. Rotating revokes the
-- old feed and creates a new one; one live feed per person.
CREATE TABLE calendar_feeds (
    id TEXT PRIMARY KEY NOT NULL,
    person_id TEXT NOT NULL REFERENCES people (id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE UNIQUE INDEX calendar_feeds_live ON calendar_feeds (person_id) WHERE revoked_at IS NULL;

-- The agenda: ordered items, each with a presenter (a person or a name), a duration and linked
-- documents (a JSON array of {"title", "url"}), and the decision taken under it, if any.
CREATE TABLE agenda_items (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    position INTEGER NOT NULL CHECK (position >= 1),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    presenter_person_id TEXT REFERENCES people (id),
    presenter_name TEXT,
    duration_minutes INTEGER CHECK (duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440),
    documents TEXT NOT NULL DEFAULT '[]',
    decision_id TEXT REFERENCES decisions (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX agenda_items_meeting ON agenda_items (meeting_id, position, id);

-- Minutes: drafted, then approved, after which the row is never changed again (every update is
-- conditional on status = 'draft').
CREATE TABLE meeting_minutes (
    meeting_id TEXT PRIMARY KEY NOT NULL REFERENCES meetings (id),
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved')),
    drafted_by TEXT,
    approved_by TEXT,
    approved_at TIMESTAMP,
    -- The decision approving them, when the body voted on them.
    approval_decision_id TEXT REFERENCES decisions (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((status = 'approved') = (approved_at IS NOT NULL))
);

-- Action items: an owner (a person), a due date, open until done; reminded once when due.
CREATE TABLE action_items (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    agenda_item_id TEXT REFERENCES agenda_items (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    owner_person_id TEXT NOT NULL REFERENCES people (id),
    due_on DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'dropped')),
    done_at TIMESTAMP,
    reminded_at TIMESTAMP,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX action_items_meeting ON action_items (meeting_id, due_on, id);
CREATE INDEX action_items_owner ON action_items (owner_person_id, status, due_on, id);
CREATE INDEX action_items_due ON action_items (status, due_on);

-- Registrations for an open event, by anyone, without an account. A confirmed registration holds
-- one of the event's places (meetings.registered_count); the waiting list is the waitlisted ones
-- in order of registration, and moves up when a confirmed one cancels.
CREATE TABLE event_registrations (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    organisation TEXT,
    language TEXT NOT NULL CHECK (language IN ('nb', 'en')),
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    promoted_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE UNIQUE INDEX event_registrations_email ON event_registrations (meeting_id, lower(email))
    WHERE status <> 'cancelled';
CREATE INDEX event_registrations_queue ON event_registrations (meeting_id, status, created_at, id);

-- Scheduling polls: proposed slots, participants (people, or guests answering through a link)
-- and their answers; a poll turned into a meeting points to it.
CREATE TABLE scheduling_polls (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    body_id TEXT REFERENCES bodies (id),
    time_zone TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'scheduled')),
    meeting_id TEXT REFERENCES meetings (id),
    closes_at TIMESTAMP,
    created_by TEXT,
    created_by_person_id TEXT REFERENCES people (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((status = 'scheduled') = (meeting_id IS NOT NULL))
);
CREATE INDEX scheduling_polls_created ON scheduling_polls (created_at, id);

CREATE TABLE poll_slots (
    id TEXT PRIMARY KEY NOT NULL,
    poll_id TEXT NOT NULL REFERENCES scheduling_polls (id),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE UNIQUE INDEX poll_slots_time ON poll_slots (poll_id, starts_at, ends_at);

CREATE TABLE poll_participants (
    id TEXT PRIMARY KEY NOT NULL,
    poll_id TEXT NOT NULL REFERENCES scheduling_polls (id),
    person_id TEXT REFERENCES people (id),
    guest_name TEXT,
    guest_email TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK ((person_id IS NOT NULL AND guest_name IS NULL AND guest_email IS NULL)
        OR (person_id IS NULL AND guest_name IS NOT NULL AND guest_email IS NOT NULL))
);
CREATE UNIQUE INDEX poll_participants_person ON poll_participants (poll_id, person_id);
CREATE UNIQUE INDEX poll_participants_guest ON poll_participants (poll_id, lower(guest_email));

CREATE TABLE poll_answers (
    participant_id TEXT NOT NULL REFERENCES poll_participants (id),
    slot_id TEXT NOT NULL REFERENCES poll_slots (id),
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'if_need_be', 'no')),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (participant_id, slot_id)
);
CREATE INDEX poll_answers_slot ON poll_answers (slot_id);
