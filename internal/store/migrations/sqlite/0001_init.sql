-- 0001_init (SQLite): licences, audit log, keys and authorities, staff accounts.
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC; NULL where "not set".

-- One row per market entity (市场主体): its current licence version and registration status.
-- Rows are keyed by a sequential id, and every index but the code's is on (value, id), so that
-- bulk issuance appends to the indexes instead of touching a random page of each per licence.
CREATE TABLE licences (
    id              INTEGER PRIMARY KEY,      -- surrogate key: new entities append
    code            TEXT NOT NULL UNIQUE,     -- 统一社会信用代码 or 注册号
    kind            TEXT NOT NULL,
    region          TEXT NOT NULL,            -- GB/T 2260 division
    authority_code  TEXT NOT NULL,            -- 登记机关 credit code
    name            TEXT NOT NULL,            -- 名称 as on the current version
    name_fold       TEXT NOT NULL,            -- name lower-cased by the application, for search
    status          TEXT NOT NULL,
    status_reason   TEXT NOT NULL DEFAULT '',
    status_at       BIGINT,
    current_version INTEGER NOT NULL,
    updated_at      BIGINT NOT NULL,
    -- Seq of the audit event of the last change of version or status (0: none since the issue).
    -- Every process caches current licences and polls this column to evict the ones another
    -- process changed (package store, cache.go).
    change_seq      BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX licences_kind ON licences (kind);
CREATE INDEX licences_region ON licences (region);
CREATE INDEX licences_status ON licences (status);
CREATE INDEX licences_authority ON licences (authority_code);
-- Partial: bulk issuance (change_seq 0) never touches it.
CREATE INDEX licences_change_seq ON licences (change_seq) WHERE change_seq > 0;

-- Every version of every licence; data is the JSON of the licence's content (face items
-- included); its state (status, supersession) and signature are columns.
CREATE TABLE licence_versions (
    licence_id       INTEGER NOT NULL REFERENCES licences (id),
    version          INTEGER NOT NULL,
    -- 电子证照标识. Not indexed: it is derived from (code, version), which the primary key
    -- already makes unique, and a unique index over it would be written in random order on
    -- every issuance (it halved bulk issuance on SQLite). Look-ups go by (code, version).
    identifier       TEXT NOT NULL,
    data             TEXT NOT NULL,
    signature        BLOB NOT NULL,
    cert_serial      TEXT NOT NULL,
    issued_at        BIGINT NOT NULL,
    superseded_at    BIGINT,
    person_id_hash   BLOB,
    person_id_sealed BLOB,
    digest           BLOB,
    PRIMARY KEY (licence_id, version)
);

-- The tamper-evident log (hash chain, see package audit).
CREATE TABLE audit_events (
    seq     INTEGER PRIMARY KEY,
    time    BIGINT NOT NULL,
    action  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    subject TEXT NOT NULL,
    data    TEXT NOT NULL,
    prev    BLOB NOT NULL,
    hash    BLOB NOT NULL
);

-- The head of the chain, one row; appenders lock it to serialise.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB NOT NULL,
    time      BIGINT NOT NULL,
    signature BLOB NOT NULL
);

-- Key pairs (private key sealed with SM4) and their certificates.
CREATE TABLE keys (
    id         TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    cert_der   BLOB NOT NULL,
    serial     TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Registering authorities (登记机关).
CREATE TABLE authorities (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    region     TEXT NOT NULL,
    cert_der   BLOB,
    serial     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    authority     TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash    BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX tokens_account ON tokens (account_id);
