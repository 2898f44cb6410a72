-- backend-specific: substring search needs each database's own index kind: FTS5 trigram tables kept by triggers on SQLite, pg_trgm GIN indexes on PostgreSQL.
-- Substring search (`q` on the people and organisation lists) without reading every row. A
-- `LIKE '%text%'` cannot use a B-tree index, so at 100,000 people a name search walked the whole
-- name index (20 requests/s, p99 136 ms in bench/scale.sh). FTS5's trigram tokenizer indexes
-- every three-character sequence, and a phrase query of three or more characters is a substring
-- match, case-insensitive over all of Unicode (SQLite's own lower() and LIKE fold ASCII only).
--
-- The FTS tables keep their own copy of the searched columns and their own integer rowid, mapped
-- to the record's id by a keys table with an INTEGER PRIMARY KEY: an FTS5 external-content table
-- would key on the records' implicit rowid, which VACUUM may renumber. Triggers keep all three in
-- step with every insert, update and delete, whoever makes it.

CREATE TABLE people_search_keys (
    search_rowid INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE people_search USING fts5(name, email, tokenize = 'trigram');

INSERT INTO people_search_keys (person_id) SELECT id FROM people;
INSERT INTO people_search (rowid, name, email)
    SELECT k.search_rowid, p.name, p.email
    FROM people p JOIN people_search_keys k ON k.person_id = p.id;

CREATE TRIGGER people_search_insert AFTER INSERT ON people BEGIN
    INSERT INTO people_search_keys (person_id) VALUES (new.id);
    INSERT INTO people_search (rowid, name, email) VALUES (last_insert_rowid(), new.name, new.email);
END;
CREATE TRIGGER people_search_update AFTER UPDATE OF name, email ON people BEGIN
    UPDATE people_search SET name = new.name, email = new.email
    WHERE rowid = (SELECT search_rowid FROM people_search_keys WHERE person_id = new.id);
END;
CREATE TRIGGER people_search_delete AFTER DELETE ON people BEGIN
    DELETE FROM people_search
    WHERE rowid = (SELECT search_rowid FROM people_search_keys WHERE person_id = old.id);
    DELETE FROM people_search_keys WHERE person_id = old.id;
END;

CREATE TABLE organisations_search_keys (
    search_rowid INTEGER PRIMARY KEY,
    organisation_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE organisations_search USING fts5(name, short_name, org_number, tokenize = 'trigram');

INSERT INTO organisations_search_keys (organisation_id) SELECT id FROM organisations;
INSERT INTO organisations_search (rowid, name, short_name, org_number)
    SELECT k.search_rowid, o.name, o.short_name, o.org_number
    FROM organisations o JOIN organisations_search_keys k ON k.organisation_id = o.id;

CREATE TRIGGER organisations_search_insert AFTER INSERT ON organisations BEGIN
    INSERT INTO organisations_search_keys (organisation_id) VALUES (new.id);
    INSERT INTO organisations_search (rowid, name, short_name, org_number)
    VALUES (last_insert_rowid(), new.name, new.short_name, new.org_number);
END;
CREATE TRIGGER organisations_search_update AFTER UPDATE OF name, short_name, org_number ON organisations BEGIN
    UPDATE organisations_search
    SET name = new.name, short_name = new.short_name, org_number = new.org_number
    WHERE rowid = (SELECT search_rowid FROM organisations_search_keys WHERE organisation_id = new.id);
END;
CREATE TRIGGER organisations_search_delete AFTER DELETE ON organisations BEGIN
    DELETE FROM organisations_search
    WHERE rowid = (SELECT search_rowid FROM organisations_search_keys WHERE organisation_id = old.id);
    DELETE FROM organisations_search_keys WHERE organisation_id = old.id;
END;
