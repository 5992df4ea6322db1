-- The smallest providers (family day carers) may answer requests from the
-- mail itself, through signed single-use links, without an account.
ALTER TABLE providers ADD COLUMN answer_by_email BOOLEAN NOT NULL DEFAULT false
