-- 0002_identity (PostgreSQL): unified identity authentication (统一身份认证, package identity):
-- natural persons, one-time codes, wallet sessions and devices, WebAuthn ceremonies, licence
-- holders (领照), administrator and agent grants, scan-to-login QR codes; and the index that
-- finds the licences naming a person.
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC; NULL where "not set".

-- Natural persons (自然人). The citizen ID number is never stored in clear: a keyed hash
-- (unique, for look-ups) and an SM4-sealed copy.
CREATE TABLE persons (
    id                    TEXT PRIMARY KEY,      -- random; also the WebAuthn user handle
    name                  TEXT NOT NULL,
    id_number_hash        BYTEA NOT NULL UNIQUE,
    id_number_sealed      BYTEA NOT NULL,
    phone                 TEXT NOT NULL UNIQUE,  -- 11-digit mainland mobile number, verified
    phone_verified_at     BIGINT,
    real_name_verified_at BIGINT,
    weak_pins             TEXT,                  -- JSON array of base64 keyed hashes
    pin_hash              TEXT NOT NULL DEFAULT '', -- personal PIN (个人密码), Argon2id PHC
    failed_pin            INTEGER NOT NULL DEFAULT 0,
    pin_locked_until      BIGINT,
    created_at            BIGINT NOT NULL
);

-- One-time codes (短信验证码); only SM3(id:code) is stored. A registration code carries the
-- person it creates (JSON), so unconfirmed registrations never become persons.
CREATE TABLE phone_codes (
    id         TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    phone      TEXT NOT NULL,
    hash       BYTEA NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    sent_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    person     TEXT                              -- JSON of the pending person; NULL for a login
);
CREATE INDEX phone_codes_phone ON phone_codes (phone, sent_at);
CREATE INDEX phone_codes_sent ON phone_codes (sent_at);

-- Wallet sign-in sessions (the phone's web session); only SM3 of the cookie value is stored.
CREATE TABLE wallet_sessions (
    id_hash      BYTEA PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL DEFAULT '',       -- the device whose passkey opened it; '' for a code
    csrf         TEXT NOT NULL,
    real_name_at BIGINT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX wallet_sessions_device ON wallet_sessions (device_id) WHERE device_id <> '';
CREATE INDEX wallet_sessions_expires ON wallet_sessions (expires_at);

-- Wallet devices bound by a WebAuthn passkey.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    person_id     TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    credential_id BYTEA NOT NULL UNIQUE,
    public_key    BYTEA,                         -- COSE_Key
    sign_count    BIGINT NOT NULL DEFAULT 0,
    aaguid        BYTEA,
    record        BYTEA,                         -- the passkey adapter's credential record, opaque
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    removed_at    BIGINT
);
CREATE INDEX devices_person ON devices (person_id, created_at);

-- Server state of WebAuthn ceremonies: single use (taking one deletes it), short-lived.
CREATE TABLE webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    person_id  TEXT NOT NULL DEFAULT '',         -- '' for a discoverable login
    state      BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- Who claimed each entity's licence (领照), with the licence PIN (执照密码). Keyed by the credit
-- code, so it survives change registrations.
CREATE TABLE holders (
    entity_code  TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons (id),
    pin_hash     TEXT NOT NULL,
    failed_pin   INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT,
    claimed_at   BIGINT NOT NULL
);
CREATE INDEX holders_person ON holders (person_id, claimed_at);

-- Administrator appointments (证照管理员) and agent grants (办事人); never edited but to revoke.
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    entity_code TEXT NOT NULL,
    person_id   TEXT NOT NULL REFERENCES persons (id),
    role        TEXT NOT NULL,                   -- administrator, agent
    all_items   BOOLEAN NOT NULL,
    items       TEXT,                            -- JSON array of service item codes; NULL when none
    valid_from  BIGINT NOT NULL,
    valid_until BIGINT,                          -- exclusive; NULL for administrators
    granted_by  TEXT NOT NULL,
    granted_at  BIGINT NOT NULL,
    revoked_by  TEXT NOT NULL DEFAULT '',
    revoked_at  BIGINT
);
CREATE INDEX grants_entity ON grants (entity_code, granted_at);
CREATE INDEX grants_person ON grants (person_id, granted_at);

-- Scan-to-login (扫码登录) QR codes; the status moves by compare-and-set.
CREATE TABLE login_qrs (
    id                TEXT PRIMARY KEY,
    browser_binding   BYTEA NOT NULL,            -- SM3 of the waiting browser's cookie value
    client_id         TEXT NOT NULL,
    client_name       TEXT NOT NULL,
    client_department TEXT NOT NULL DEFAULT '',
    client_region     TEXT NOT NULL DEFAULT '',
    client_sector_id  TEXT NOT NULL DEFAULT '',
    auth_request_id   TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    status            TEXT NOT NULL,
    person_id         TEXT NOT NULL DEFAULT '',
    scanned_at        BIGINT,
    entity_code       TEXT NOT NULL DEFAULT '',
    role              TEXT NOT NULL DEFAULT '',
    grant_id          TEXT NOT NULL DEFAULT '',
    acr               TEXT NOT NULL DEFAULT '',
    amr               TEXT,                      -- JSON array (RFC 8176 methods)
    device_id         TEXT NOT NULL DEFAULT '',
    confirmed_at      BIGINT,
    consumed_at       BIGINT
);
CREATE INDEX login_qrs_expires ON login_qrs (expires_at);

-- Real-name verification and claiming find the licences that name a person by the keyed hash
-- of their ID number (identity.LicenceFinder.ByPersonIDHash). Licences registered without the
-- number stay out of the index.
CREATE INDEX licence_versions_person ON licence_versions (person_id_hash) WHERE person_id_hash IS NOT NULL;
