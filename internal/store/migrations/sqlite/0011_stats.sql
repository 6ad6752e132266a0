-- 0011_stats: usage statistics (package stats), rolled up from the audit log.
-- stats_daily holds counts per day (00:00 China Standard Time, as unix microseconds UTC), metric,
-- region (GB/T 2260 city-level division, or 'unknown'), department (a client ID or an authority's
-- credit code, '' when none applies) and scenario ('' when none). The roller adds the counts of the
-- events after stats_cursor.seq and moves the cursor in the same transaction, so a count is never
-- added twice nor lost.
CREATE TABLE stats_daily (
    day        BIGINT NOT NULL,
    metric     TEXT NOT NULL,
    region     TEXT NOT NULL,
    department TEXT NOT NULL,
    scenario   TEXT NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (day, metric, region, department, scenario)
);

-- The roll-up cursor, one row: the seq of the last audit event counted.
CREATE TABLE stats_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO stats_cursor (id, seq, updated_at) VALUES (1, 0, 0);
