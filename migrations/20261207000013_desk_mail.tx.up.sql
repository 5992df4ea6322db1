-- Mail about a desk's families (the confirmation with its status link, offers,
-- reminders) is desk data: it moves out of the platform-wide mail_outbox into
-- desk_mail, keyed and isolated by desk like the other family tables. What
-- belongs to no desk (password resets, invitations, account mail) stays in
-- mail_outbox. The relay, the one reader that crosses desks on purpose,
-- reads and marks desk mail through the narrow role loket_mail_relay.
CREATE TABLE desk_mail (
    tenant_id       UUID NOT NULL REFERENCES tenants (id),
    id              UUID NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMPTZ,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
)
--bun:split
-- Mail stored before this migration: a mail about a request carries its
-- desk in the status link (/<desk>/aanvraag/…). Answer reminders carry no
-- link and no family data (a location and a desk name) and stay where they are.
INSERT INTO desk_mail (tenant_id, id, created_at, kind, to_address, subject, body_text, body_html,
    sent_at, attempts, last_error, next_attempt_at)
SELECT t.id, m.id, m.created_at, m.kind, m.to_address, m.subject, m.body_text, m.body_html,
    m.sent_at, m.attempts, m.last_error, m.next_attempt_at
FROM mail_outbox m JOIN tenants t ON m.body_text LIKE '%/' || t.slug || '/aanvraag/%'
WHERE m.kind LIKE 'request.%'
--bun:split
DELETE FROM mail_outbox WHERE id IN (SELECT id FROM desk_mail)
--bun:split
CREATE INDEX desk_mail_created ON desk_mail (tenant_id, created_at)
--bun:split
CREATE INDEX desk_mail_unsent ON desk_mail (created_at) WHERE sent_at IS NULL
{{.TenantOwned "desk_mail"}}
{{- if eq .Dialect "postgres"}}
--bun:split
-- The relay's role: it may read every desk's mail and mark its delivery, and
-- nothing else. The application role may switch to it inside one transaction
-- (SET LOCAL ROLE; granted by db.MigrateUp). Roles are cluster-wide: another
-- database on the server may have created it already.
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'loket_mail_relay') THEN
        CREATE ROLE loket_mail_relay NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
--bun:split
GRANT USAGE ON SCHEMA public TO loket_mail_relay
--bun:split
GRANT SELECT, UPDATE (attempts, next_attempt_at, sent_at, last_error) ON desk_mail, mail_outbox TO loket_mail_relay
--bun:split
-- "TO loket_mail_relay" would also admit its members (the application role
-- inherits it): the policies ask that the relay's role be the current one.
CREATE POLICY mail_relay_read ON desk_mail FOR SELECT USING (current_user = 'loket_mail_relay')
--bun:split
CREATE POLICY mail_relay_mark ON desk_mail FOR UPDATE
    USING (current_user = 'loket_mail_relay') WITH CHECK (current_user = 'loket_mail_relay')
{{- end}}
