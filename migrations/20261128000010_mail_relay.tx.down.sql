DROP INDEX mail_outbox_unsent
--bun:split
ALTER TABLE mail_outbox DROP COLUMN next_attempt_at
--bun:split
ALTER TABLE mail_outbox DROP COLUMN last_error
--bun:split
ALTER TABLE mail_outbox DROP COLUMN attempts
--bun:split
ALTER TABLE mail_outbox DROP COLUMN sent_at
