-- 0011_stats: usage statistics (package stats), rolled up from the audit log.
-- stats_daily holds counts per day (00:00 China Standard Time, as unix microseconds UTC), metric,
-- region (GB/T 2260 city-level division, or 'unknown'), department (a client ID or an authority's
-- credit code, '' when none applies) and scenario ('' when none). The roller adds the counts of the
-- events after stats_cursor.seq and moves the cursor in the same transaction, so a count is never
-- added twice nor lost.
CREATE TABLE stats_daily (
    day        BIGINT NOT NULL,
    metric     TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL, -- byte order for prefix ranges
    department TEXT COLLATE "C" NOT NULL,
    scenario   TEXT COLLATE "C" NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (day, metric, region, department, scenario)
);

-- Filtered queries read the cube through these indexes; the scenario index leaves out the rows
-- of metrics without a scenario (the queries carry the same predicate).
CREATE INDEX stats_daily_region ON stats_daily (region, day);
CREATE INDEX stats_daily_department ON stats_daily (department, day);
CREATE INDEX stats_daily_scenario ON stats_daily (scenario, day) WHERE scenario <> '';

-- The margins of the cube, kept in the same transaction: per metric and period (a day, or a
-- month starting on its first day), the sum over every region, department and scenario
-- (dim ''), or by one of them (dim 'region', 'department' or 'scenario', key its value).
-- Unfiltered queries (the default dashboard, the public summary) read these few rows instead of
-- adding up the cube.
CREATE TABLE stats_margins (
    grain  TEXT COLLATE "C" NOT NULL, -- 'day' or 'month'
    dim    TEXT COLLATE "C" NOT NULL,
    period BIGINT NOT NULL,  -- 00:00 China Standard Time of the first day, unix microseconds UTC
    metric TEXT COLLATE "C" NOT NULL,
    key    TEXT COLLATE "C" NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (grain, dim, period, metric, key)
);

-- The roll-up cursor, one row: the seq of the last audit event counted. Rollers in several
-- processes claim it with SELECT … FOR UPDATE SKIP LOCKED: one rolls, the others skip.
CREATE TABLE stats_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO stats_cursor (id, seq, updated_at) VALUES (1, 0, 0);
