-- The first tenant-owned tables: the skeleton the request lifecycle fills in.
-- Every one has tenant_id first in its primary key and in every foreign key,
-- which keeps a desk's rows together and lets PostgreSQL (Citus) distribute
-- by tenant_id later.
CREATE TABLE families (
    tenant_id        UUID NOT NULL REFERENCES tenants (id),
    id               UUID NOT NULL,
    display_name     TEXT NOT NULL,
    email            TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    language         TEXT NOT NULL DEFAULT 'nl',
    municipality_nis TEXT REFERENCES municipalities (nis_code),
    neighbourhood    TEXT NOT NULL DEFAULT '',
    vulnerable       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
--bun:split
CREATE TABLE children (
    tenant_id            UUID NOT NULL,
    id                   UUID NOT NULL,
    family_id            UUID NOT NULL,
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    birth_date           DATE,
    expected_date        DATE,
    -- keyed hash of the national register number, never the number itself
    national_number_hash TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, family_id) REFERENCES families (tenant_id, id),
    CHECK (birth_date IS NOT NULL OR expected_date IS NOT NULL)
);
--bun:split
CREATE INDEX children_family ON children (tenant_id, family_id);
--bun:split
CREATE INDEX children_national_number_hash ON children (national_number_hash) WHERE national_number_hash IS NOT NULL;
--bun:split
CREATE TABLE requests (
    tenant_id     UUID NOT NULL,
    id            UUID NOT NULL,
    child_id      UUID NOT NULL,
    status        TEXT NOT NULL,
    channel       TEXT NOT NULL,
    desired_start DATE NOT NULL,
    submitted_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, child_id) REFERENCES children (tenant_id, id)
);
--bun:split
CREATE INDEX requests_status ON requests (tenant_id, status, desired_start);
--bun:split
CREATE INDEX requests_child ON requests (tenant_id, child_id);
--bun:split
CREATE TABLE preferences (
    tenant_id   UUID NOT NULL,
    request_id  UUID NOT NULL,
    rank        INTEGER NOT NULL CHECK (rank > 0),
    location_id UUID NOT NULL,
    state       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, request_id, rank),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX preferences_location ON preferences (tenant_id, location_id);
--bun:split
-- Append-only record of every state change (who, when, from, to, why).
CREATE TABLE events (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    id           UUID NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   UUID NOT NULL,
    kind         TEXT NOT NULL,
    from_state   TEXT NOT NULL DEFAULT '',
    to_state     TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    data         JSONB,
    PRIMARY KEY (tenant_id, id)
);
--bun:split
CREATE INDEX events_subject ON events (tenant_id, subject_type, subject_id, occurred_at);
{{- if eq .Dialect "postgres"}}
--bun:split
-- Row-level security: every tenant-owned table shows and accepts only the rows
-- of the desk named by the transaction-local setting app.tenant_id. FORCE makes
-- it hold for the table owner too. NULLIF: on a pooled connection the setting
-- reads '' (not NULL) after an earlier transaction set it.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['families', 'children', 'requests', 'preferences', 'events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)
            WITH CHECK (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::uuid)', t);
    END LOOP;
END
$$;
{{- end}}
