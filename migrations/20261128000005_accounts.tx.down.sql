DROP TABLE mail_outbox;
--bun:split
DROP TABLE totp_used_codes;
--bun:split
DROP TABLE password_reset_tokens;
--bun:split
DROP TABLE users;
