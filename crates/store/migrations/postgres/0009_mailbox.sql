-- How far an email channel's mailbox has been read over IMAP (PostgreSQL). Kept
-- parallel to migrations/sqlite/0009_mailbox.sql.

-- UIDs only mean something within one UIDVALIDITY: when the server announces another,
-- the mailbox is read again from the start (Message-IDs keep that from storing twice).
CREATE TABLE mailbox_positions (
    channel_id BIGINT PRIMARY KEY REFERENCES channels (id),
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT mailbox_positions_uid CHECK (last_uid >= 0 AND uid_validity >= 0)
);
