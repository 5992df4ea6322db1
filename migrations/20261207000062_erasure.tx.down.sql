ALTER TABLE families DROP COLUMN erasure_reason
--bun:split
ALTER TABLE families DROP COLUMN erasure_requested_at
