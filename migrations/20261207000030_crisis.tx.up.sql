-- Issue 16 (crisis contact point). A closure of a location is platform data
-- like the location itself: several desks may have families there. While a
-- closure is in force (ended_at IS NULL) the location shows no free places.
CREATE TABLE closures (
    id          UUID PRIMARY KEY,
    location_id UUID NOT NULL REFERENCES locations (id),
    region_nis  TEXT NOT NULL,
    from_date   DATE NOT NULL,
    until_date  DATE,
    reason      TEXT NOT NULL,
    public      BOOLEAN NOT NULL,
    radius_km   INTEGER NOT NULL,
    round_id    UUID,
    declared_by TEXT NOT NULL,
    declared_at TIMESTAMPTZ NOT NULL,
    ended_by    TEXT NOT NULL DEFAULT '',
    ended_at    TIMESTAMPTZ
)
--bun:split
CREATE INDEX closures_location ON closures (location_id) WHERE ended_at IS NULL
--bun:split
-- Places a nearby provider opens for the crisis, on top of its usual free
-- places (they are added to availability and taken back when they end).
CREATE TABLE emergency_places (
    closure_id   UUID NOT NULL REFERENCES closures (id),
    location_id  UUID NOT NULL REFERENCES locations (id),
    start_month  TEXT NOT NULL,
    age_band     TEXT NOT NULL,
    places       INTEGER NOT NULL,
    until_date   DATE NOT NULL,
    announced_by TEXT NOT NULL,
    announced_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (closure_id, location_id, start_month, age_band)
)
--bun:split
-- The families a closure affects, per desk: desk data, isolated like the
-- requests they point at.
CREATE TABLE closure_families (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    closure_id   UUID NOT NULL REFERENCES closures (id),
    request_id   UUID NOT NULL,
    cause        TEXT NOT NULL,
    from_request UUID,
    added_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, closure_id, request_id),
    FOREIGN KEY (tenant_id, request_id) REFERENCES requests (tenant_id, id)
)
--bun:split
CREATE INDEX closure_families_request ON closure_families (tenant_id, request_id)
{{.TenantOwned "closure_families"}}
