-- The team's canned replies (SQLite). Kept parallel to
-- migrations/postgres/0014_canned_replies.sql.

-- Replies an agent picks instead of typing, with {name} where the customer's name goes.
-- The title names one in the inbox's list, so it is unique.
CREATE TABLE canned_replies (
    -- AUTOINCREMENT: an id is never given again, so a stale page's Delete button
    -- cannot remove another reply.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    updated_at INTEGER NOT NULL,
    CONSTRAINT canned_replies_title UNIQUE (title),
    CONSTRAINT canned_replies_not_empty CHECK (title <> '' AND body <> '')
);
