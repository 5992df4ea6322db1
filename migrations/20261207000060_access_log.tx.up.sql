-- Issue 18, point 3: every look at a family's data (a desk page, a partner's
-- view, a provider's inbox or answer page, an API read, a crisis list) is one
-- row: who, which family and request, when, through which agreement. It is
-- append-only for the application role (db.appendOnlyTables) and has its own
-- retention (docs/privacy.md).
CREATE TABLE access_log (
    tenant_id   UUID NOT NULL REFERENCES tenants (id),
    id          UUID NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    actor       TEXT NOT NULL,
    family_id   UUID NOT NULL,
    request_id  UUID,
    what        TEXT NOT NULL,
    agreement   TEXT NOT NULL DEFAULT '',
    via_desk    TEXT NOT NULL DEFAULT '',
    -- the organisation that looked, for the family: tenant:<slug> or
    -- provider:<id>
    organisation TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
)
--bun:split
CREATE INDEX access_log_family ON access_log (tenant_id, family_id, occurred_at)
--bun:split
CREATE INDEX access_log_time ON access_log (tenant_id, occurred_at)
{{.TenantOwned "access_log"}}
