-- 0005_search (PostgreSQL): full-text search of entities by name and representative.
-- Shipped migrations are never edited; changes go into a new numbered file.

-- pg_trgm is database-wide but lives in one schema: public when there is one, so that dropping
-- the schema of one deployment (or of one test) does not drop the others' indexes. The operator
-- class is named with that schema, whatever the search_path; queries need only LIKE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
            CREATE EXTENSION pg_trgm SCHEMA public;
        ELSE
            CREATE EXTENSION pg_trgm;
        END IF;
    END IF;
END $$;

-- pg_trgm only makes trigrams of characters the database's LC_CTYPE calls alphanumeric: in a
-- C-locale database (scripts/pg.sh initdb --no-locale, and many servers) Chinese characters yield
-- none and a trigram index on the text would find nothing for them. The index is therefore on
-- the hex of the text's UTF-8 bytes (ASCII only, one "word"): a substring of the text is a
-- substring of the hex, so LIKE '%<hex of query>%' is answered by the trigram index whatever
-- the locale, and even a single Chinese character (6 hex digits) makes 4 trigrams. A match at
-- an odd hex offset is not a real one: queries recheck the text itself (strpos).
CREATE FUNCTION elicense_hex(t text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT encode(convert_to(t, 'UTF8'), 'hex') $$;

-- Name (名称), folded by the application (licences.name_fold); the person on the face
-- (法定代表人/经营者/负责人…) of each version, searches joining the current one.
DO $$
DECLARE
    ops text := (SELECT quote_ident(n.nspname) || '.gin_trgm_ops'
                 FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                 WHERE e.extname = 'pg_trgm');
BEGIN
    EXECUTE 'CREATE INDEX licences_name_trgm ON licences USING gin (elicense_hex(name_fold) ' || ops || ')';
    EXECUTE 'CREATE INDEX licence_versions_person_trgm ON licence_versions'
        ' USING gin (elicense_hex(data::json #>> ''{face,person}'') ' || ops || ')';
END $$;
