-- backend-specific: substring search needs each database's own index kind: FTS5 trigram tables kept by triggers on SQLite, pg_trgm GIN indexes on PostgreSQL.
DROP TRIGGER organisations_search_delete;
DROP TRIGGER organisations_search_update;
DROP TRIGGER organisations_search_insert;
DROP TABLE organisations_search;
DROP TABLE organisations_search_keys;
DROP TRIGGER people_search_delete;
DROP TRIGGER people_search_update;
DROP TRIGGER people_search_insert;
DROP TABLE people_search;
DROP TABLE people_search_keys;
