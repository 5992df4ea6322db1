-- The places.stale webhook event (issue 17): one event per location per
-- stale period. A period is named by the location's last change of free
-- places (NULL: never entered); a new change starts a new period. Platform
-- data, like the catalogue it is about; the deliveries themselves are desk
-- data of the desk whose area holds the location (tenant_municipalities).
CREATE TABLE places_stale_notices (
    location_id UUID PRIMARY KEY REFERENCES locations (id) ON DELETE CASCADE,
    last_change TIMESTAMPTZ,
    notified_at TIMESTAMPTZ NOT NULL
)
