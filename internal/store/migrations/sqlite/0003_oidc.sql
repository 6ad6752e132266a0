-- 0003_oidc (SQLite): the OpenID Connect provider (package oidc): registered clients (portals
-- and departments' systems), authorisation requests and their codes, pushed requests, single
-- sign-on sessions and the portals that took part in them, refresh-token families and tokens,
-- access tokens, used client-assertion IDs, and rate-limit windows.
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC; NULL where "not set". Secrets
-- (client secrets, codes, cookies, refresh tokens) are stored only as SHA-256 hashes.

CREATE TABLE oidc_clients (
    id                        TEXT PRIMARY KEY,
    secret_hash               BLOB,             -- SHA-256 of the client secret; NULL without one
    auth_method               TEXT NOT NULL,    -- client_secret_basic, client_secret_post, private_key_jwt, none
    name                      TEXT NOT NULL,
    department                TEXT NOT NULL,
    region                    TEXT NOT NULL,
    logo_uri                  TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,    -- JSON array, matched exactly
    post_logout_redirect_uris TEXT NOT NULL,    -- JSON array
    grant_types               TEXT NOT NULL,    -- JSON array
    scopes                    TEXT NOT NULL,    -- JSON array
    backchannel_logout_uri    TEXT NOT NULL,
    jwks                      TEXT NOT NULL,    -- public keys for private_key_jwt ('' without)
    sector_id                 TEXT NOT NULL,
    created_by                TEXT NOT NULL,
    created_at                BIGINT NOT NULL
);

-- Authorisation requests, from the authorisation endpoint to the code exchange; kept (their
-- code marked used) until they expire, so a replayed code is recognised.
CREATE TABLE oidc_auth_requests (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    params          TEXT NOT NULL,   -- JSON of the validated parameters
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    login           TEXT,            -- JSON of the login once finished
    session_id      TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    done_at         BIGINT,
    code_hash       BLOB UNIQUE,
    code_expires_at BIGINT,
    code_used_at    BIGINT
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- Pushed authorisation requests (RFC 9126), single use.
CREATE TABLE oidc_pushed_requests (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    form       TEXT NOT NULL,        -- JSON of the form parameters
    expires_at BIGINT NOT NULL
);

-- Single sign-on sessions: one browser, one person acting for one entity.
CREATE TABLE oidc_sessions (
    id          TEXT PRIMARY KEY,    -- the sid of tokens
    cookie_hash BLOB NOT NULL UNIQUE,
    person_id   TEXT NOT NULL,
    entity_code TEXT NOT NULL,
    login       TEXT NOT NULL,       -- JSON of the login
    device_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX oidc_sessions_person ON oidc_sessions (person_id, entity_code);
CREATE INDEX oidc_sessions_expires ON oidc_sessions (expires_at);

-- The portals that received a login from a session, and the subject they know the person by
-- (back-channel logout notifies them).
CREATE TABLE oidc_session_clients (
    session_id TEXT NOT NULL REFERENCES oidc_sessions (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX oidc_session_clients_subject ON oidc_session_clients (client_id, subject);

-- Refresh-token families: the rotation chain of one login; revoked as a whole on reuse.
CREATE TABLE oidc_refresh_families (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,   -- JSON array
    person_id       TEXT NOT NULL,
    entity_code     TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    login           TEXT NOT NULL,   -- JSON of the login
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX oidc_refresh_families_person ON oidc_refresh_families (person_id, entity_code);
CREATE INDEX oidc_refresh_families_session ON oidc_refresh_families (session_id);
CREATE INDEX oidc_refresh_families_request ON oidc_refresh_families (auth_request_id);

CREATE TABLE oidc_refresh_tokens (
    hash       BLOB PRIMARY KEY,     -- SHA-256 of the token
    family_id  TEXT NOT NULL REFERENCES oidc_refresh_families (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT                -- set when rotated
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family_id);

-- Access tokens of logins (client-credentials tokens are not stored).
CREATE TABLE oidc_access_tokens (
    id              TEXT PRIMARY KEY, -- the jti
    client_id       TEXT NOT NULL,
    family_id       TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,   -- JSON array
    person_id       TEXT NOT NULL,
    entity_code     TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    login           TEXT NOT NULL,   -- JSON of the login
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX oidc_access_tokens_person ON oidc_access_tokens (person_id, entity_code);
CREATE INDEX oidc_access_tokens_session ON oidc_access_tokens (session_id);
CREATE INDEX oidc_access_tokens_family ON oidc_access_tokens (family_id);
CREATE INDEX oidc_access_tokens_request ON oidc_access_tokens (auth_request_id);
CREATE INDEX oidc_access_tokens_expires ON oidc_access_tokens (expires_at);

-- The jti of every client assertion (private_key_jwt) until it expires: a replay is refused.
CREATE TABLE oidc_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- Rate-limit windows shared by every process.
CREATE TABLE oidc_rate (
    rate_key     TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (rate_key, window_start)
);
