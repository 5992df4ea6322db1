DROP INDEX families_email
--bun:split
ALTER TABLE requests DROP COLUMN idempotency_fingerprint
