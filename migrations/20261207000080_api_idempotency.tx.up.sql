-- Idempotency-Key on every write of /api/v1 (issue 17): the first answer to
-- a caller's key, replayed to a retry with the same request for 24 hours.
-- Platform data: keyed by the caller (a hash of its API key or session), not
-- by desk; the body of an answer is what that caller already received.
CREATE TABLE api_idempotency_keys (
    caller       TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT '',
    body         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (caller, idem_key)
)
--bun:split
CREATE INDEX api_idempotency_keys_expiry ON api_idempotency_keys (expires_at)
