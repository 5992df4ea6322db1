-- Issue 20 (parent side). A short code per request, given when the desk
-- prints a receipt, so a family without e-mail can name its request on the
-- phone.
ALTER TABLE requests ADD COLUMN short_code TEXT NOT NULL DEFAULT ''
--bun:split
CREATE INDEX requests_short_code ON requests (tenant_id, short_code)
