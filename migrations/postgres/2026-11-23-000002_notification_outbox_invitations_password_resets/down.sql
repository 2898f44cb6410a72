DROP TABLE password_resets;
DROP TABLE invitations;
DROP TABLE notification_preferences;
DROP TABLE notifications;
ALTER TABLE users DROP COLUMN language;
