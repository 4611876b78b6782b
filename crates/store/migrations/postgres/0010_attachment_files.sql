-- The bytes of attachments kept with their message (PostgreSQL). Kept parallel to
-- migrations/sqlite/0010_attachment_files.sql.

-- In the database rather than on disk so that every instance serving it can hand a
-- file to the team. `position` is the attachment's place in the message's list.
CREATE TABLE attachment_files (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    position INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    file_name TEXT,
    size_bytes BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (message_id, position),
    CONSTRAINT attachment_files_position CHECK (position >= 0)
);
