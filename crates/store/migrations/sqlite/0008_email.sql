-- What email adds to messages and conversations (SQLite). Kept parallel to
-- migrations/postgres/0008_email.sql.

-- A message's subject line, its whole text as it arrived (quoted history and signature
-- included; `text` holds only what the customer wrote anew), and, for mail that must
-- never be answered automatically (an auto-reply, a bounce, a mailing list), why.
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN original_text TEXT;
ALTER TABLE messages ADD COLUMN automated TEXT;

-- A thread's subject without reply prefixes, lowercased: mail that names no earlier
-- message joins the same person's thread with the same subject, and no one else's.
ALTER TABLE conversations ADD COLUMN subject_key TEXT;
CREATE INDEX conversations_subject ON conversations (identity_id, subject_key);

-- Finding a thread by the ids a reply's References name.
CREATE INDEX messages_provider_lookup ON messages (provider_message_id);
