-- Sharing agreements between desks and API keys of providers. Both are
-- platform tables, not tenant-owned: an agreement belongs to two desks at
-- once (the granting and the receiving desk must both see and may both end
-- it; under row-level security a row of one desk would be invisible to the
-- other), and an API key belongs to a provider, which is no desk. Queries
-- always name the desk (granting_tenant_id or receiving_tenant_id) or the
-- provider. What an agreement or key allows lives in the Casbin rules
-- (casbin_rules.v5 = agreement id; subject apikey:<id>); these rows say who,
-- when and why.
CREATE TABLE sharing_agreements (
    id                  UUID PRIMARY KEY,
    granting_tenant_id  UUID NOT NULL REFERENCES tenants (id),
    receiving_tenant_id UUID NOT NULL REFERENCES tenants (id),
    -- named access: read_requests_in_area, shared_waiting_list
    access              TEXT NOT NULL,
    -- whole days, from midnight UTC; ends_at is exclusive, NULL = until revoked
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ,
    -- the receiving desk grants the same access back
    reciprocal          BOOLEAN NOT NULL DEFAULT FALSE,
    created_by          TEXT NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    revoked_at          TIMESTAMPTZ,
    revoked_by          TEXT NOT NULL DEFAULT '',
    CHECK (granting_tenant_id <> receiving_tenant_id),
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
--bun:split
CREATE INDEX sharing_agreements_granting ON sharing_agreements (granting_tenant_id, created_at);
--bun:split
CREATE INDEX sharing_agreements_receiving ON sharing_agreements (receiving_tenant_id, created_at);
--bun:split
-- Only the SHA-256 of a key is stored: keys are 32 random bytes, so a plain
-- hash is as good as a slow one, and a lookup stays one index read.
CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    provider_id  UUID NOT NULL REFERENCES providers (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    -- shown to tell keys apart (lk_ab12…), never enough to use one
    prefix       TEXT NOT NULL,
    -- comma-separated location ids the key is limited to; '' = every location
    locations    TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
--bun:split
CREATE INDEX api_keys_provider ON api_keys (provider_id, created_at);
