{{- if eq .Dialect "postgres"}}
-- Without FORCE the owner reads every desk's mail to move it back.
ALTER TABLE desk_mail NO FORCE ROW LEVEL SECURITY
--bun:split
REVOKE ALL ON mail_outbox FROM loket_mail_relay
--bun:split
REVOKE ALL ON SCHEMA public FROM loket_mail_relay
--bun:split
{{- end}}
INSERT INTO mail_outbox (id, created_at, kind, to_address, subject, body_text, body_html,
    sent_at, attempts, last_error, next_attempt_at)
SELECT id, created_at, kind, to_address, subject, body_text, body_html,
    sent_at, attempts, last_error, next_attempt_at FROM desk_mail
--bun:split
DROP TABLE desk_mail
