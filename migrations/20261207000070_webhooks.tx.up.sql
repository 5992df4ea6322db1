-- Webhooks: a provider's own system is told when something happens to its
-- requests. An endpoint belongs to a provider (platform data, like the
-- catalogue); a delivery tells one desk's event to one endpoint and is desk
-- data, written in the transaction of the change it tells about and sent by
-- the webhook relay (the one reader that crosses desks on purpose, through
-- the narrow role loket_webhook_relay, as the mail relay does).
CREATE TABLE webhook_endpoints (
    id          UUID PRIMARY KEY,
    provider_id UUID NOT NULL REFERENCES providers (id),
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    contact     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    failures    INTEGER NOT NULL DEFAULT 0,
    paused_at   TIMESTAMPTZ
)
--bun:split
CREATE INDEX webhook_endpoints_provider ON webhook_endpoints (provider_id)
--bun:split
CREATE TABLE webhook_deliveries (
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    id              UUID NOT NULL,
    endpoint_id     UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    subject_id      UUID NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    given_up_at     TIMESTAMPTZ,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
)
--bun:split
-- Order per request: the relay looks for an earlier open delivery of the
-- same endpoint and subject.
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (endpoint_id, subject_id, created_at)
--bun:split
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (created_at) WHERE delivered_at IS NULL AND given_up_at IS NULL
{{.TenantOwned "webhook_deliveries"}}
{{- if eq .Dialect "postgres"}}
--bun:split
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loket_webhook_relay') THEN
        CREATE ROLE loket_webhook_relay NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
--bun:split
GRANT USAGE ON SCHEMA public TO loket_webhook_relay
--bun:split
GRANT SELECT, UPDATE (attempts, next_attempt_at, delivered_at, given_up_at, last_status, last_error) ON webhook_deliveries TO loket_webhook_relay
--bun:split
GRANT SELECT, UPDATE (failures, paused_at) ON webhook_endpoints TO loket_webhook_relay
--bun:split
CREATE POLICY webhook_relay_read ON webhook_deliveries FOR SELECT USING (current_user = 'loket_webhook_relay')
--bun:split
CREATE POLICY webhook_relay_mark ON webhook_deliveries FOR UPDATE
    USING (current_user = 'loket_webhook_relay') WITH CHECK (current_user = 'loket_webhook_relay')
{{- end}}
