-- Issue 20 (parent side). A round child's explanation as data (the engine's
-- explanation without its texts), so the status page can write it in the
-- reader's language with the names of locations, months and age groups.
ALTER TABLE round_children ADD COLUMN explanation TEXT NOT NULL DEFAULT ''
--bun:split
-- A short code per request, given when the desk prints a receipt, so a
-- family without e-mail can name its request on the phone.
ALTER TABLE requests ADD COLUMN short_code TEXT NOT NULL DEFAULT ''
--bun:split
CREATE INDEX requests_short_code ON requests (tenant_id, short_code)
