-- With SMTP configured, every mail is first stored here (a notice about a
-- request in the transaction of its change), and the relay sends it and
-- marks it sent: a stored mail is not lost when a server dies. On the
-- embedded default nothing is sent.
ALTER TABLE mail_outbox ADD COLUMN sent_at TIMESTAMPTZ
--bun:split
ALTER TABLE mail_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0
--bun:split
ALTER TABLE mail_outbox ADD COLUMN last_error TEXT NOT NULL DEFAULT ''
--bun:split
-- A relay claims a mail by setting this to the end of its lease; a failed
-- attempt sets it to the next try.
ALTER TABLE mail_outbox ADD COLUMN next_attempt_at TIMESTAMPTZ
--bun:split
CREATE INDEX mail_outbox_unsent ON mail_outbox (created_at) WHERE sent_at IS NULL
