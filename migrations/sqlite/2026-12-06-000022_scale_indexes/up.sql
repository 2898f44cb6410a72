-- The audit trail is the one table that grows by every write (a million events in the scale
-- benchmark). Its list is newest first (by id, a UUID v7); filtered by action or by record type
-- alone, the planner otherwise walks the whole id index backwards for a rare action, or sorts
-- every event of a common record type. These serve both filters in order, stopping at a page.
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_record_type_id ON audit_events (record_type, id);

-- The organisation list filtered by membership status: with the one-column status index, the
-- SQLite bundled with libsqlite3-sys fetched every organisation of the status and sorted them by
-- name, 70-100 ms a page at 100,000 organisations (15 requests/s in bench/scale.sh). With the
-- status, name and id in one index a single status is read in list order and a list of statuses
-- sorts only their rows (1-3 ms and 7-11 ms measured on the same database). It also serves
-- the policy's member subqueries (membership_status IN (...)), which the old index served.
DROP INDEX organisations_status_idx;
CREATE INDEX organisations_status_name_idx ON organisations (membership_status, name, id);
