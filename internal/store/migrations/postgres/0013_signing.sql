-- 0013_signing: signing on behalf of an entity (issue 7 item 3, package signing) and the
-- wallet inbox's list of login confirmations a person has not given (package inbox).
CREATE TABLE signing_requests (
    id           TEXT PRIMARY KEY,
    entity_code  TEXT NOT NULL,
    entity_name  TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    client_name  TEXT NOT NULL,
    department   TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    service_item TEXT NOT NULL DEFAULT '',
    format       TEXT NOT NULL,              -- pdf or ofd
    pages        INTEGER NOT NULL,
    doc_title    TEXT NOT NULL DEFAULT '',
    doc_text     TEXT,                       -- JSON array: the text of each page (OFD)
    doc_size     INTEGER NOT NULL,
    doc_hash     BYTEA NOT NULL,              -- SM3 of document
    document     BYTEA NOT NULL,              -- the file as the portal sent it (at most 10 MB)
    status       TEXT NOT NULL,              -- pending, signed, declined (expired is computed)
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    decided_at   BIGINT,
    person_id    TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL DEFAULT '',
    grant_id     TEXT NOT NULL DEFAULT '',
    acr          TEXT NOT NULL DEFAULT '',
    device_id    TEXT NOT NULL DEFAULT '',
    signed_doc   BYTEA,                       -- the sealed file
    signed_hash  BYTEA,
    cert_serial  TEXT NOT NULL DEFAULT '',
    seal_id      TEXT NOT NULL DEFAULT ''
);
-- The wallet lists the pending requests of the entities a person acts for.
CREATE INDEX signing_requests_pending ON signing_requests (entity_code, created_at) WHERE status = 'pending';
CREATE INDEX signing_requests_client ON signing_requests (client_id, created_at);
-- The inbox lists the login QR codes a person scanned and has not confirmed.
CREATE INDEX login_qrs_scanned ON login_qrs (person_id, expires_at) WHERE status = 'scanned';
