-- User accounts, password reset tokens, used TOTP codes and the mail outbox.
-- Platform tables, not tenant-owned: one login works for many desks; what a
-- user may do in which desk is decided by authorisation, not by these rows.
CREATE TABLE users (
    id                 UUID PRIMARY KEY,
    -- stored lower-cased (trimmed), so UNIQUE makes addresses case-insensitive
    email              TEXT NOT NULL UNIQUE,
    display_name       TEXT NOT NULL,
    -- argon2id in PHC form ($argon2id$v=19$m=…,t=…,p=…$salt$hash); '' = no password yet
    password_hash      TEXT NOT NULL DEFAULT '',
    -- base32 TOTP secret; '' = no code app set up
    totp_secret        TEXT NOT NULL DEFAULT '',
    totp_required      BOOLEAN NOT NULL DEFAULT FALSE,
    -- sessions carry the generation they were made under; bumping it signs
    -- the user out everywhere
    session_generation BIGINT NOT NULL DEFAULT 1,
    disabled_at        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
--bun:split
-- Only the SHA-256 of a reset token is stored: a leaked table opens no account.
CREATE TABLE password_reset_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
--bun:split
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
--bun:split
-- TOTP time steps already used per user: a code is accepted once.
CREATE TABLE totp_used_codes (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    step    BIGINT NOT NULL,
    used_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, step)
);
--bun:split
-- Mails kept in the database instead of sent (the embedded default); the
-- admin pages read them.
CREATE TABLE mail_outbox (
    id         UUID PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL,
    kind       TEXT NOT NULL DEFAULT '',
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    body_html  TEXT NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);
