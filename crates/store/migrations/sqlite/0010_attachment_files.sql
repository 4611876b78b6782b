-- The bytes of attachments kept with their message (SQLite). Kept parallel to
-- migrations/postgres/0010_attachment_files.sql.

-- In the database rather than on disk so that every instance serving it can hand a
-- file to the team. `position` is the attachment's place in the message's list.
CREATE TABLE attachment_files (
    message_id INTEGER NOT NULL REFERENCES messages (id),
    position INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    file_name TEXT,
    size_bytes INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (message_id, position),
    CONSTRAINT attachment_files_position CHECK (position >= 0)
);
