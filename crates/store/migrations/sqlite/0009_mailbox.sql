-- How far an email channel's mailbox has been read over IMAP (SQLite). Kept parallel
-- to migrations/postgres/0009_mailbox.sql.

-- UIDs only mean something within one UIDVALIDITY: when the server announces another,
-- the mailbox is read again from the start (Message-IDs keep that from storing twice).
CREATE TABLE mailbox_positions (
    channel_id INTEGER PRIMARY KEY REFERENCES channels (id),
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT mailbox_positions_uid CHECK (last_uid >= 0 AND uid_validity >= 0)
);
