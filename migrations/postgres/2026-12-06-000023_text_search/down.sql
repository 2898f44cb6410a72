-- backend-specific: substring search needs each database's own index kind: FTS5 trigram tables kept by triggers on SQLite, pg_trgm GIN indexes on PostgreSQL.
DROP INDEX organisations_org_number_trgm_idx;
DROP INDEX organisations_short_name_trgm_idx;
DROP INDEX organisations_name_trgm_idx;
DROP INDEX people_email_trgm_idx;
DROP INDEX people_name_trgm_idx;
DROP FUNCTION fold_case(text);
