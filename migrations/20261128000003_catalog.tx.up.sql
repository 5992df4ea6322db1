-- The public catalogue: providers, their locations and free places. Platform
-- data, not tenant-owned: every desk and every parent sees the same catalogue,
-- across municipal borders. Under Citus these become reference tables.
CREATE TABLE providers (
    id         UUID PRIMARY KEY,
    -- KBO enterprise number, ten digits without dots (0123456789)
    kbo_number TEXT UNIQUE,
    name       TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE TABLE locations (
    id               UUID PRIMARY KEY,
    -- Opgroeien dossier number: the key imports update by
    dossier_number   TEXT NOT NULL UNIQUE,
    provider_id      UUID NOT NULL REFERENCES providers (id),
    name             TEXT NOT NULL,
    street           TEXT NOT NULL DEFAULT '',
    postcode         TEXT NOT NULL DEFAULT '',
    municipality_nis TEXT NOT NULL REFERENCES municipalities (nis_code),
    neighbourhood    TEXT NOT NULL DEFAULT '',
    lat              DOUBLE PRECISION NOT NULL,
    lon              DOUBLE PRECISION NOT NULL,
    care_type        TEXT NOT NULL CHECK (care_type IN ('gezinsopvang', 'groepsopvang')),
    subsidy_tier     TEXT NOT NULL CHECK (subsidy_tier IN ('T0', 'T1', 'T2A', 'T2B', 'T3')),
    price_type       TEXT NOT NULL CHECK (price_type IN ('inkomenstarief', 'vrije_prijs')),
    licensed_places  INTEGER NOT NULL CHECK (licensed_places > 0),
    min_age_months   INTEGER NOT NULL DEFAULT 0,
    max_age_months   INTEGER NOT NULL DEFAULT 36,
    opening_hours    JSONB NOT NULL,
    early_hours      BOOLEAN NOT NULL DEFAULT FALSE,
    late_hours       BOOLEAN NOT NULL DEFAULT FALSE,
    weekend          BOOLEAN NOT NULL DEFAULT FALSE,
    inclusive_care   BOOLEAN NOT NULL DEFAULT FALSE,
    occasional_care  BOOLEAN NOT NULL DEFAULT FALSE,
    accepts_requests BOOLEAN NOT NULL DEFAULT TRUE,
    languages        JSONB NOT NULL,
    email            TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    website          TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX locations_municipality ON locations (municipality_nis, name);
--bun:split
CREATE INDEX locations_provider ON locations (provider_id);
--bun:split
CREATE INDEX locations_position ON locations (lat, lon);
--bun:split
-- Free places per location, start month and age band, kept by the provider.
CREATE TABLE availability (
    location_id UUID NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    start_month TEXT NOT NULL CHECK (length(start_month) = 7),
    age_band    TEXT NOT NULL,
    free_places INTEGER NOT NULL CHECK (free_places >= 0),
    changed_at  TIMESTAMPTZ NOT NULL,
    changed_by  TEXT NOT NULL,
    PRIMARY KEY (location_id, start_month, age_band)
);
--bun:split
CREATE INDEX availability_month ON availability (start_month, age_band, location_id);
--bun:split
-- Every change of free places, who made it and when.
CREATE TABLE availability_events (
    id          UUID PRIMARY KEY,
    location_id UUID NOT NULL REFERENCES locations (id) ON DELETE CASCADE,
    start_month TEXT NOT NULL,
    age_band    TEXT NOT NULL,
    from_places INTEGER,
    to_places   INTEGER NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    changed_by  TEXT NOT NULL
);
--bun:split
CREATE INDEX availability_events_location ON availability_events (location_id, changed_at);
