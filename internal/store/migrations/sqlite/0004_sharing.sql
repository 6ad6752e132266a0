-- 0004_sharing (SQLite): the sharing service (package sharing): what each department's system
-- (an OpenID Connect client with the client_credentials grant) may do with each licence type.
-- Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE sharing_permissions (
    client_id  TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    type_code  TEXT NOT NULL,   -- licence type (证照类型代码)
    operations TEXT NOT NULL,   -- JSON array of query, verify, download, archive; [] withdrawn
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, type_code)
);
