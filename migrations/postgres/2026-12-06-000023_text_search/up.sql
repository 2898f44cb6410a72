-- backend-specific: substring search needs each database's own index kind: FTS5 trigram tables kept by triggers on SQLite, pg_trgm GIN indexes on PostgreSQL.
-- Substring search (`q` on the people and organisation lists) without reading every row. A
-- `LIKE '%text%'` cannot use a B-tree index, so at 100,000 people a name search walked the whole
-- name index (54 requests/s, p99 66 ms in bench/scale.sh). pg_trgm's GIN indexes answer a LIKE
-- of three or more characters from the trigrams of the pattern; they are on the very expressions
-- the lists filter on (fold_case(name), ...). pg_trgm ships with PostgreSQL and is a trusted
-- extension: the database's owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Lower case over all of Unicode, which the lists' searches compare in (`db::functions::fold_case`;
-- on SQLite a function each connection registers). Here it is lower(), inlined by the planner.
CREATE FUNCTION fold_case(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS 'SELECT lower($1)';

CREATE INDEX people_name_trgm_idx ON people USING gin (fold_case(name) gin_trgm_ops);
CREATE INDEX people_email_trgm_idx ON people USING gin (email gin_trgm_ops);
CREATE INDEX organisations_name_trgm_idx ON organisations USING gin (fold_case(name) gin_trgm_ops);
CREATE INDEX organisations_short_name_trgm_idx ON organisations USING gin (fold_case(short_name) gin_trgm_ops);
CREATE INDEX organisations_org_number_trgm_idx ON organisations USING gin (org_number gin_trgm_ops);

-- Whether a search reads the trigram index or walks the name index until a page is full is the
-- planner's choice, from ANALYZE's statistics of the indexed expression. With the default sample
-- (30,000 rows, 100 common values) the estimate for a name found 250 times in 100,000 people
-- swung between 20 and 1,000 from one ANALYZE to the next, and with it the plan: 9 ms through
-- the index, 40-260 ms walking two fifths of the names (bench/RESULTS.md). The larger sample keeps
-- the estimate near the truth (260 in six ANALYZEs out of six).
ALTER INDEX people_name_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
ALTER INDEX organisations_name_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
