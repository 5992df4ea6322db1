DROP INDEX sharing_agreements_status
--bun:split
ALTER TABLE sharing_agreements DROP COLUMN accepted_by
--bun:split
ALTER TABLE sharing_agreements DROP COLUMN accepted_at
--bun:split
ALTER TABLE sharing_agreements DROP COLUMN status
