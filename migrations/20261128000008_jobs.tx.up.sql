-- Background jobs (deadlines and reminders). Platform infrastructure, not
-- tenant-owned: one scheduler serves every desk; `scope` names the desk
-- (slug) a job is for. Payloads hold ids only, never personal data: the
-- handler reads what it needs from the desk's own tables when it runs.
CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    -- the same kind and key are never enqueued twice (period keys make
    -- replicas agree on periodic work, reminder keys send a reminder once)
    dedupe_key   TEXT NOT NULL,
    scope        TEXT NOT NULL DEFAULT '',
    payload      JSONB NOT NULL,
    run_at       TIMESTAMPTZ NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- lease: an instance owns a claimed job until locked_until; after that
    -- (the instance died) another instance may claim it again
    locked_by    TEXT NOT NULL DEFAULT '',
    locked_until TIMESTAMPTZ,
    done_at      TIMESTAMPTZ,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, dedupe_key)
);
--bun:split
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL;
