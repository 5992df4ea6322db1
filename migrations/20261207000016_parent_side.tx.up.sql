-- Issue 20 (parent side). A round child's explanation as data (the engine's
-- explanation without its texts), so the status page can write it in the
-- reader's language with the names of locations, months and age groups.
ALTER TABLE round_children ADD COLUMN explanation TEXT NOT NULL DEFAULT ''
