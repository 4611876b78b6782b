-- The team: users who sign in (owners and agents), their API tokens, and what the
-- messages record of them (PostgreSQL).
--
-- Kept parallel to migrations/sqlite/0003_team.sql: same tables, columns and
-- constraint names.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Lowercased and trimmed by the application, so one person cannot be added twice
    -- with different capitals.
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    -- An argon2id hash in the PHC string format (algorithm, parameters and salt
    -- included), so the parameters can be raised later without a migration.
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_email UNIQUE (email),
    CONSTRAINT users_email_not_empty CHECK (email <> ''),
    CONSTRAINT users_role CHECK (role IN ('owner', 'agent'))
);

-- Tokens for the API and the terminal. Only a SHA-256 hash of each is kept: the token
-- is shown once when it is made, and a copy of the database does not let anyone in.
-- A plain hash suffices because tokens are long random strings, not passwords.
CREATE TABLE api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    label TEXT,
    created_at BIGINT NOT NULL,
    -- Sign-ins from the inbox page end; tokens made for scripts do not (null).
    expires_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_tokens_token_hash UNIQUE (token_hash)
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Private notes among the team live with the messages, in order, but never reach the
-- customer.
ALTER TABLE messages ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CONSTRAINT messages_visibility CHECK (visibility IN ('public', 'internal'));

-- Who on the team wrote an agent message or a note.
ALTER TABLE messages ADD COLUMN user_id BIGINT REFERENCES users (id);
