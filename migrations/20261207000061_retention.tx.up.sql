-- Issue 18, point 1: retention. A desk may keep a family past its retention
-- period (a legal hold: a dispute, an inquiry); the daily purge skips it.
ALTER TABLE families ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT false
--bun:split
-- The yearly figures of a closed year, stored before the purge removes rows
-- they were computed from: reports reads them instead of the rows.
CREATE TABLE yearly_figures (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    year      INTEGER NOT NULL,
    report    TEXT NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, year)
)
{{.TenantOwned "yearly_figures"}}
{{- if eq .Dialect "postgres"}}
--bun:split
-- The purge works as this narrow role for the two append-only logs (their
-- rows go when their period is over): it may read and delete them, no more.
-- Row-level security still limits it to the desk of the transaction.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loket_retention') THEN
        CREATE ROLE loket_retention NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
--bun:split
GRANT USAGE ON SCHEMA public TO loket_retention
--bun:split
GRANT SELECT, DELETE ON events, access_log TO loket_retention
{{- end}}
