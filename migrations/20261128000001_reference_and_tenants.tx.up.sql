-- Platform-wide reference data and the desks (tenants). Not tenant-owned.
CREATE TABLE regions (
    nis_code TEXT PRIMARY KEY,
    name_nl  TEXT NOT NULL,
    name_fr  TEXT NOT NULL
);
--bun:split
CREATE TABLE municipalities (
    nis_code   TEXT PRIMARY KEY,
    name_nl    TEXT NOT NULL,
    name_fr    TEXT NOT NULL,
    region_nis TEXT NOT NULL REFERENCES regions (nis_code),
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL
);
--bun:split
CREATE TABLE neighbourhoods (
    municipality_nis TEXT NOT NULL REFERENCES municipalities (nis_code),
    name             TEXT NOT NULL,
    PRIMARY KEY (municipality_nis, name)
);
--bun:split
CREATE TABLE tenants (
    id                     UUID PRIMARY KEY,
    slug                   TEXT NOT NULL UNIQUE,
    name                   TEXT NOT NULL,
    mode                   TEXT NOT NULL CHECK (mode IN ('central', 'registry')),
    max_preferences        INTEGER NOT NULL CHECK (max_preferences > 0),
    provider_response_days INTEGER NOT NULL CHECK (provider_response_days > 0),
    offer_acceptance_days  INTEGER NOT NULL CHECK (offer_acceptance_days > 0),
    -- the rest of the desk's YAML (names, languages, contact, branding, hosts)
    settings               JSONB NOT NULL,
    -- hash of the YAML spec: tenants sync skips desks whose spec is unchanged
    spec_hash              TEXT NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE tenant_municipalities (
    tenant_id        UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- a municipality belongs to exactly one desk
    municipality_nis TEXT NOT NULL UNIQUE REFERENCES municipalities (nis_code),
    PRIMARY KEY (tenant_id, municipality_nis)
);
