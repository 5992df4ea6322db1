ALTER TABLE providers DROP COLUMN answer_by_email
