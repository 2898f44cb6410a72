DROP INDEX organisations_status_name_idx;
CREATE INDEX organisations_status_idx ON organisations (membership_status);
DROP INDEX audit_events_record_type_id;
DROP INDEX audit_events_action_id;
