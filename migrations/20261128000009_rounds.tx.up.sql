-- Allocation rounds of a desk: the engine's input (with seed and policy), its
-- result and the audit verdict, kept so anyone with rights can re-run and
-- check a round; and the offers a published round proposes to providers.
CREATE TABLE rounds (
    tenant_id    UUID NOT NULL REFERENCES tenants (id),
    id           UUID NOT NULL,
    from_month   TEXT NOT NULL,
    to_month     TEXT NOT NULL,
    status       TEXT NOT NULL,
    seed         TEXT NOT NULL,
    instance     TEXT NOT NULL,
    result       TEXT NOT NULL,
    audit_ok     BOOLEAN NOT NULL,
    audit        TEXT NOT NULL,
    children     INTEGER NOT NULL,
    placed       INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
--bun:split
CREATE TABLE round_offers (
    tenant_id   UUID NOT NULL,
    round_id    UUID NOT NULL,
    request_id  UUID NOT NULL,
    rank        INTEGER NOT NULL,
    location_id UUID NOT NULL,
    start_month TEXT NOT NULL,
    age_band    TEXT NOT NULL,
    state       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    answered_by TEXT NOT NULL DEFAULT '',
    answered_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, round_id, request_id),
    FOREIGN KEY (tenant_id, round_id) REFERENCES rounds (tenant_id, id) ON DELETE CASCADE
);
--bun:split
-- One row per child of a round: what it got and why not better, in plain
-- Dutch and English, for the parent's status page.
CREATE TABLE round_children (
    tenant_id   UUID NOT NULL,
    round_id    UUID NOT NULL,
    request_id  UUID NOT NULL,
    location_id UUID,
    choice      INTEGER NOT NULL,
    text_nl     TEXT NOT NULL,
    text_en     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, round_id, request_id),
    FOREIGN KEY (tenant_id, round_id) REFERENCES rounds (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX round_children_request ON round_children (tenant_id, request_id);
--bun:split
CREATE INDEX round_offers_location ON round_offers (tenant_id, location_id, state);
{{.TenantOwned "rounds" "round_offers" "round_children"}}
