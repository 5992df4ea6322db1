-- Issue 18, point 2: a parent asks from her status page to erase her
-- family's data; the desk erases it or records the legal obligation that
-- keeps it (told to the parent by mail).
ALTER TABLE families ADD COLUMN erasure_requested_at TIMESTAMPTZ
--bun:split
ALTER TABLE families ADD COLUMN erasure_reason TEXT NOT NULL DEFAULT ''
