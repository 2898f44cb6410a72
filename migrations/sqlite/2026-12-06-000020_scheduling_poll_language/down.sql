ALTER TABLE scheduling_polls DROP COLUMN language;
