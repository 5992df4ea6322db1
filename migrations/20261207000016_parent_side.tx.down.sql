DROP INDEX requests_short_code
--bun:split
ALTER TABLE requests DROP COLUMN short_code
