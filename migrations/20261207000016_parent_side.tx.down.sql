ALTER TABLE round_children DROP COLUMN explanation
