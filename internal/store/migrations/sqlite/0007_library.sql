-- 0007_library (SQLite): the enterprise licence library (package library): licence types
-- (证照目录), licences of types other than the business licence (permits) with their versions,
-- and service records (办件).
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC; NULL where "not set".

-- Registered licence types; the business licence is built in and not stored. data is the JSON
-- of library.Type (schema of face items, issuers, validity, class).
CREATE TABLE library_types (
    code       TEXT PRIMARY KEY,        -- 证照类型代码: defining authority's credit code + 3 digits
    data       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row per permit: its current version and status. (type_code, number) names a permit
-- across its versions.
CREATE TABLE permits (
    id               INTEGER PRIMARY KEY,
    type_code        TEXT NOT NULL,
    number           TEXT NOT NULL,     -- 证照编号
    issuer_code      TEXT NOT NULL,     -- the issuing department's credit code
    holder_code      TEXT NOT NULL,     -- 持证主体代码
    holder_code_type TEXT NOT NULL,     -- GB/T 36903: 001, 099, 111, …
    status           TEXT NOT NULL,     -- valid, suspended, cancelled, revoked (expired is computed)
    status_reason    TEXT NOT NULL DEFAULT '',
    status_at        BIGINT,
    current_version  INTEGER NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (type_code, number)
);
CREATE INDEX permits_holder ON permits (holder_code, type_code, number);

-- Every version of every permit; data is the JSON of its content, the signature a column.
CREATE TABLE permit_versions (
    permit_id     INTEGER NOT NULL REFERENCES permits (id),
    version       INTEGER NOT NULL,
    identifier    TEXT NOT NULL UNIQUE, -- 电子证照标识 (GB/T 36904)
    data          TEXT NOT NULL,
    signature     BLOB NOT NULL,
    cert_serial   TEXT NOT NULL,
    issued_at     BIGINT NOT NULL,
    superseded_at BIGINT,
    PRIMARY KEY (permit_id, version)
);

-- Service records (办件): a department handled a case for a holder with some of its licences.
CREATE TABLE service_records (
    seq         INTEGER PRIMARY KEY,    -- order of arrival: the paging cursor
    id          TEXT NOT NULL UNIQUE,
    holder_code TEXT NOT NULL,
    at          BIGINT NOT NULL,
    data        TEXT NOT NULL           -- JSON of library.Record
);
CREATE INDEX service_records_holder ON service_records (holder_code, seq);
