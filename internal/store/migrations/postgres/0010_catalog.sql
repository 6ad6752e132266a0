-- 0010_catalog (PostgreSQL): the service catalogue (事项材料目录, package catalog) and applications
-- (办件). Shipped migrations are never edited; changes go into a new numbered file.
-- Times are BIGINT microseconds since the Unix epoch, UTC.

CREATE TABLE catalog_items (
    code            TEXT PRIMARY KEY,  -- 事项编码
    name            TEXT NOT NULL,
    name_en         TEXT NOT NULL,
    department_name TEXT NOT NULL,
    department_code TEXT NOT NULL,     -- the department's credit code
    region          TEXT NOT NULL,     -- GB/T 2260 division; 000000 national
    scenario        TEXT NOT NULL,
    materials       TEXT NOT NULL,     -- JSON array of catalog.Material
    updated_by      TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX catalog_items_scenario ON catalog_items (scenario, code);
CREATE INDEX catalog_items_region ON catalog_items (region);

CREATE TABLE catalog_applications (
    id           TEXT PRIMARY KEY,
    item_code    TEXT NOT NULL,
    item         TEXT NOT NULL,        -- JSON of the item as it was at the start
    entity_code  TEXT NOT NULL,
    person_id    TEXT NOT NULL,        -- identity's person who applies
    role         TEXT NOT NULL,        -- holder, administrator, agent
    channel      TEXT NOT NULL DEFAULT '', -- the portal (client ID) it was made through
    case_number  TEXT NOT NULL UNIQUE, -- 办件编号
    status       TEXT NOT NULL,        -- draft, submitted
    materials    TEXT NOT NULL,        -- JSON array of catalog.Satisfaction
    not_asked    INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    submitted_at BIGINT
);
CREATE INDEX catalog_applications_entity ON catalog_applications (entity_code, created_at);
