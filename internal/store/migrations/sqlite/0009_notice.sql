-- 0009_notice (SQLite): change notices (package notice) — departments' webhook subscriptions, the
-- entities they follow because they archived them, the dispatcher's cursor in the audit log and
-- the outbox of deliveries; and the OpenID Connect client a department account acts as.
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC.

-- A department account (role department) acts as its department's system, an OpenID Connect
-- client; other accounts have ''.
ALTER TABLE accounts ADD COLUMN client_id TEXT NOT NULL DEFAULT '';

CREATE TABLE notice_subscriptions (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,             -- the webhook
    events     TEXT NOT NULL,             -- JSON array: new_version, suspended, restored, cancelled, revoked
    archived   BOOLEAN NOT NULL,          -- also every entity the client follows (notice_follows)
    after_seq  BIGINT NOT NULL,           -- audit seq of its creation: later events only
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notice_subscriptions_client ON notice_subscriptions (client_id, created_at);

-- What a subscription names: an entity (type_code and identifier '': every licence of it) or one
-- licence of it (its type, and the identifier the department gave).
CREATE TABLE notice_targets (
    subscription_id TEXT NOT NULL REFERENCES notice_subscriptions (id) ON DELETE CASCADE,
    entity_code     TEXT NOT NULL,
    type_code       TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    PRIMARY KEY (subscription_id, entity_code, type_code)
);
CREATE INDEX notice_targets_entity ON notice_targets (entity_code);

-- Entities a client follows because it archived (存档) one of their licences.
CREATE TABLE notice_follows (
    client_id   TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    entity_code TEXT NOT NULL,
    after_seq   BIGINT NOT NULL,          -- audit seq of the follow: later events only
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, entity_code)
);
CREATE INDEX notice_follows_entity ON notice_follows (entity_code);

-- The last audit event the dispatcher has read. It starts at the present: no subscription exists
-- before this migration, so earlier events match nothing.
CREATE TABLE notice_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO notice_cursor (id, seq) SELECT 1, seq FROM audit_head WHERE id = 1;

-- The outbox: one row per notice to deliver to one subscription. The body is fixed when the row
-- is written, so every attempt sends the same notice with the same id.
CREATE TABLE notice_outbox (
    n               INTEGER PRIMARY KEY,     -- order of creation (paging)
    id              TEXT NOT NULL UNIQUE,    -- the notice's id, sent in the body
    subscription_id TEXT NOT NULL,           -- no foreign key: history outlives the subscription
    client_id       TEXT NOT NULL,
    url             TEXT NOT NULL,
    event_seq       BIGINT NOT NULL,         -- the audit event it reports
    event           TEXT NOT NULL,
    entity_code     TEXT NOT NULL,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,           -- pending, delivered, failed
    attempts        INTEGER NOT NULL,
    due_at          BIGINT NOT NULL,         -- pending: next attempt, or end of the lease of one in flight
    lease           TEXT NOT NULL,           -- the claim in flight ('' none)
    last_status     INTEGER NOT NULL,        -- HTTP status of the last attempt (0 none)
    last_error      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (subscription_id, event_seq)
);
CREATE INDEX notice_outbox_due ON notice_outbox (due_at) WHERE state = 'pending';
CREATE INDEX notice_outbox_client ON notice_outbox (client_id, n);
CREATE INDEX notice_outbox_client_state ON notice_outbox (client_id, state, n);
