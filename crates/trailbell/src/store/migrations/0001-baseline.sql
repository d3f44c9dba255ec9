-- Step 1: the store as trailbell wrote it before migrations existed (user_version 0), each
-- module's tables. `IF NOT EXISTS` only here: a store from those versions already holds them, and
-- this step then only stamps it. Later steps are plain statements, run once.

-- Owned by outbox/: one row per alert and target. `attributes` is MessageAttributes as
-- JSON; times are Unix milliseconds; `age_from_ms` is when the row's age started counting
-- (accepted, or retried by hand); `remote_id`/`remote_channel` are what the target returned
-- (Slack's `ts` and channel, SNS/SQS message ids). The index serves each worker's "next due row
-- of my destination".
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    target_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attributes TEXT NOT NULL,
    maximum_retry_attempts INTEGER NOT NULL,
    maximum_event_age_seconds INTEGER NOT NULL,
    dead_letter_queue_url TEXT,
    accepted_at_ms INTEGER NOT NULL,
    age_from_ms INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    claimed_at_ms INTEGER,
    last_attempt_at_ms INTEGER,
    last_error TEXT,
    response_status INTEGER,
    response_body TEXT,
    remote_id TEXT,
    remote_channel TEXT,
    finished_at_ms INTEGER,
    exhausted_retry_condition TEXT,
    dead_letter_status TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (destination, state, next_attempt_at_ms, id);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, finished_at_ms);

-- Owned by registry/: buses, rules and their targets, archives, replays.
CREATE TABLE IF NOT EXISTS registry_buses (
    name TEXT PRIMARY KEY,
    description TEXT,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS registry_rules (
    bus TEXT NOT NULL REFERENCES registry_buses(name),
    name TEXT NOT NULL,
    event_pattern TEXT,
    state TEXT NOT NULL,
    description TEXT,
    managed_by TEXT,
    extras TEXT NOT NULL DEFAULT 'null',
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (bus, name)
);
CREATE TABLE IF NOT EXISTS registry_targets (
    bus TEXT NOT NULL,
    rule TEXT NOT NULL,
    id TEXT NOT NULL,
    position INTEGER NOT NULL,
    arn TEXT NOT NULL,
    spec TEXT NOT NULL,
    PRIMARY KEY (bus, rule, id),
    FOREIGN KEY (bus, rule) REFERENCES registry_rules(bus, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS registry_targets_by_arn ON registry_targets(arn);
CREATE TABLE IF NOT EXISTS registry_archives (
    name TEXT PRIMARY KEY,
    bus TEXT NOT NULL REFERENCES registry_buses(name),
    description TEXT,
    event_pattern TEXT,
    retention_days INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS registry_archive_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    archive TEXT NOT NULL REFERENCES registry_archives(name) ON DELETE CASCADE,
    event_ms INTEGER NOT NULL,
    archived_ms INTEGER NOT NULL,
    envelope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS registry_archive_events_by_time
    ON registry_archive_events(archive, event_ms, seq);
CREATE TABLE IF NOT EXISTS registry_replays (
    name TEXT PRIMARY KEY,
    archive TEXT NOT NULL,
    destination_bus TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    state_reason TEXT,
    event_start_ms INTEGER NOT NULL,
    event_end_ms INTEGER NOT NULL,
    last_replayed_ms INTEGER,
    replay_start_ms INTEGER NOT NULL,
    replay_end_ms INTEGER
);

-- Owned by noise/: open dedup windows, threshold counts.
CREATE TABLE IF NOT EXISTS noise_dedup (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    closes_at_ms INTEGER NOT NULL,
    window_seconds INTEGER NOT NULL,
    first_event_id TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0,
    last_envelope TEXT,
    PRIMARY KEY (rule, key)
);
CREATE INDEX IF NOT EXISTS noise_dedup_closes ON noise_dedup (closes_at_ms);
CREATE TABLE IF NOT EXISTS noise_threshold (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    event_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS noise_threshold_key ON noise_threshold (rule, key, at_ms);

-- Owned by sources/live/directory.rs: the files seen.
CREATE TABLE IF NOT EXISTS source_files (
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    events INTEGER NOT NULL,
    error TEXT,
    done_at_ms INTEGER NOT NULL,
    PRIMARY KEY (source, path)
);

-- Owned by sources/live/lookup.rs: cursors, and event ids seen in the overlap.
CREATE TABLE IF NOT EXISTS lookup_events_cursors (
    source TEXT NOT NULL,
    region TEXT NOT NULL,
    cursor_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (source, region)
);
CREATE TABLE IF NOT EXISTS lookup_events_seen (
    source TEXT NOT NULL,
    region TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    PRIMARY KEY (source, region, event_id)
);
