-- backend-specific: SQLite has no ALTER TABLE … ADD CONSTRAINT, so the capacity check sits on the registered_count column there and is a named table constraint on PostgreSQL.
DROP TABLE poll_answers;
DROP TABLE poll_participants;
DROP TABLE poll_slots;
DROP TABLE scheduling_polls;
DROP TABLE event_registrations;
DROP TABLE action_items;
DROP TABLE meeting_minutes;
DROP TABLE agenda_items;
DROP TABLE calendar_feeds;
DROP TABLE meeting_reminders;
ALTER TABLE meeting_invitees DROP COLUMN attendance;
DROP INDEX meetings_occurrence;
DROP INDEX meetings_uid;
CREATE UNIQUE INDEX meetings_uid ON meetings (uid);
ALTER TABLE meetings DROP COLUMN registered_count;
ALTER TABLE meetings DROP COLUMN capacity;
ALTER TABLE meetings DROP COLUMN rrule;
ALTER TABLE notifications DROP COLUMN calendar;
