-- 0005_search (SQLite): full-text search of entities by name and representative.
-- Shipped migrations are never edited; changes go into a new numbered file.

-- One row per entity (rowid = licences.id): the name (名称) and the person on the face
-- (法定代表人/经营者/负责人…) of its CURRENT version, indexed by trigrams, which suit Chinese
-- text (no word segmentation) and fold case. Queries of 3+ characters use the index (MATCH);
-- shorter ones scan it with a limit (package store, search.go). Codes are looked up exactly in
-- licences.
CREATE VIRTUAL TABLE licence_search USING fts5(name, person, tokenize = 'trigram', columnsize = 0);
-- Bulk issuance appends many small segments; merging 16 at a time instead of 4 halves the merge
-- work on the write path (searches stay fast: the index is merged as it grows).
INSERT INTO licence_search (licence_search, rank) VALUES ('automerge', 16);

-- Kept in step with the current version by the store, in Save's transaction: issues add rows in
-- the same multi-row form as the licences (licences.go), a change registration replaces the
-- entity's row. Status changes do not touch it (search filters on licences.status). Triggers
-- would do the same but cost bulk issuance a JSON parse per licence for the person.

-- The entities that exist already.
INSERT INTO licence_search (rowid, name, person)
SELECT l.id, l.name, coalesce(json_extract(v.data, '$.face.person'), '')
FROM licences l JOIN licence_versions v ON v.licence_id = l.id AND v.version = l.current_version;
