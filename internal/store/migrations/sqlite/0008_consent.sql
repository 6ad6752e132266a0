-- 0008_consent (SQLite): the sharing service's second slice (package sharing, issue 5 items 4–7):
-- the entities' authorisations (用证授权: standing, per case, one-time codes 用证码), the one-time
-- download URLs of watermarked copies (加注件) and the departments' archive receipts (存档).
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE sharing_consents (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,              -- standing, case, code
    entity_code TEXT NOT NULL,              -- the entity that authorises
    client_id   TEXT NOT NULL DEFAULT '',   -- the department's system; '' for an unused code
    items       TEXT NOT NULL,              -- JSON array of service item codes; [] all
    case_number TEXT NOT NULL DEFAULT '',
    cause       TEXT NOT NULL DEFAULT '',
    covers      TEXT NOT NULL,              -- JSON array: capital, form, download, or *
    status      TEXT NOT NULL,              -- pending, active, declined, revoked
    code_hash   BLOB,                      -- SM3 of a 用证码; NULL for the other kinds
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  BIGINT,
    used_at     BIGINT,
    revoked_by  TEXT NOT NULL DEFAULT '',
    revoked_at  BIGINT
);
CREATE INDEX sharing_consents_entity ON sharing_consents (entity_code, created_at);
CREATE INDEX sharing_consents_client ON sharing_consents (client_id, entity_code);
CREATE UNIQUE INDEX sharing_consents_code ON sharing_consents (code_hash) WHERE code_hash IS NOT NULL;

CREATE TABLE sharing_downloads (
    id          TEXT PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,      -- SM3 of the URL's token
    client_id   TEXT NOT NULL,
    entity_code TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    format      TEXT NOT NULL,
    cause       TEXT NOT NULL,
    item        TEXT NOT NULL,
    case_number TEXT NOT NULL,
    consent_id  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE sharing_archive (
    receipt_id   TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL,
    entity_code  TEXT NOT NULL,
    identifier   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    document_sm3 TEXT NOT NULL,
    cause        TEXT NOT NULL,
    item         TEXT NOT NULL,
    case_number  TEXT NOT NULL,
    archived_at  BIGINT NOT NULL,
    signature    BLOB NOT NULL,
    cert_serial  TEXT NOT NULL
);
CREATE INDEX sharing_archive_client ON sharing_archive (client_id, archived_at, receipt_id);
