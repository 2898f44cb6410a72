-- Meetings: a body's meetings and the consortium's open events, with the people and guests
-- invited to each and their answers. Times are stored in UTC with the IANA zone the meeting was
-- scheduled in, so local times are computed, and correct across daylight-saving changes.
-- Columns for what later migrations add (series and their occurrences) are here already, null.

CREATE TABLE meetings (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('body_meeting', 'open_event')),
    -- The body whose meeting it is (null for an open event).
    body_id TEXT REFERENCES bodies (id),
    -- A recurring series this meeting is an occurrence of, and the occurrence's original start
    -- (RFC 5545 RECURRENCE-ID): for the series a later migration adds.
    series_id TEXT,
    occurrence_of TIMESTAMP,
    -- The iCalendar UID (stable for the meeting's life) and SEQUENCE (raised by each change of
    -- time or place, and by the cancellation).
    uid TEXT NOT NULL,
    sequence INTEGER NOT NULL DEFAULT 0,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    -- An IANA zone, e.g. Europe/Oslo.
    time_zone TEXT NOT NULL,
    place TEXT,
    video_url TEXT,
    language TEXT NOT NULL CHECK (language IN ('nb', 'en')),
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'cancelled', 'held')),
    cancel_reason TEXT,
    cancelled_at TIMESTAMP,
    recording_url TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at > starts_at),
    CHECK ((kind = 'body_meeting' AND body_id IS NOT NULL) OR (kind = 'open_event' AND body_id IS NULL)),
    CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);
CREATE UNIQUE INDEX meetings_uid ON meetings (uid);
CREATE INDEX meetings_starts ON meetings (starts_at, id);
CREATE INDEX meetings_body ON meetings (body_id, starts_at, id);
CREATE INDEX meetings_series ON meetings (series_id, occurrence_of);

-- Who is invited: a person of the register, or a guest known only by name and e-mail.
CREATE TABLE meeting_invitees (
    id TEXT PRIMARY KEY NOT NULL,
    meeting_id TEXT NOT NULL REFERENCES meetings (id),
    person_id TEXT REFERENCES people (id),
    guest_name TEXT,
    guest_email TEXT,
    response TEXT NOT NULL DEFAULT 'needs_action'
        CHECK (response IN ('needs_action', 'accepted', 'tentative', 'declined')),
    responded_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    -- Raised by each answer; removing an invitee needs it (If-Match).
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((person_id IS NOT NULL AND guest_name IS NULL AND guest_email IS NULL)
        OR (person_id IS NULL AND guest_name IS NOT NULL AND guest_email IS NOT NULL))
);
CREATE UNIQUE INDEX meeting_invitees_person ON meeting_invitees (meeting_id, person_id);
CREATE UNIQUE INDEX meeting_invitees_guest ON meeting_invitees (meeting_id, lower(guest_email));
CREATE INDEX meeting_invitees_of_person ON meeting_invitees (person_id, meeting_id);
