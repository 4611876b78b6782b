-- Each FAQ entry's uses, counted for the knowledge page (SQLite). Kept parallel to
-- migrations/postgres/0015_answer_faq.sql.

-- The FAQ entry an assistant answer used, copied out of its decision when it is stored:
-- counting uses then reads this index, not every decision's JSON.
ALTER TABLE messages ADD COLUMN answer_faq_id TEXT;

UPDATE messages SET answer_faq_id = json_extract(decision, '$.faq_id')
WHERE author = 'assistant' AND json_extract(decision, '$.decision') = 'answer';

CREATE INDEX messages_answer_faq ON messages (answer_faq_id, created_at)
WHERE answer_faq_id IS NOT NULL;
