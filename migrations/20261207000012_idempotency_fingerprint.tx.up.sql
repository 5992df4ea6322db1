-- An Idempotency-Key is stored with a keyed fingerprint of the request body
-- it came with (IETF httpapi Idempotency-Key draft): a retry with the same
-- body gets the first answer, the same key with another body is refused. Rows
-- stored before this have no fingerprint: their key can only be refused.
ALTER TABLE requests ADD COLUMN idempotency_fingerprint TEXT;
--bun:split
-- "send me a new link" finds a family's requests by its e-mail address
CREATE INDEX families_email ON families (tenant_id, lower(email));
