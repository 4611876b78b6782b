-- The team's canned replies (PostgreSQL). Kept parallel to
-- migrations/sqlite/0014_canned_replies.sql.

-- Replies an agent picks instead of typing, with {name} where the customer's name goes.
-- The title names one in the inbox's list, so it is unique.
CREATE TABLE canned_replies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    CONSTRAINT canned_replies_title UNIQUE (title),
    CONSTRAINT canned_replies_not_empty CHECK (title <> '' AND body <> '')
);
