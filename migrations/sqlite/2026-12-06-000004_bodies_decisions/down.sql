ALTER TABLE agreement_events DROP COLUMN decision_id;
ALTER TABLE membership_changes DROP COLUMN decision_id;
DROP TABLE decision_voters;
DROP TABLE decisions;
DROP TABLE body_members;
DROP TABLE bodies;
