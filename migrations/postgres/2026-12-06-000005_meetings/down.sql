DROP TABLE meeting_invitees;
DROP TABLE meetings;
