-- What the analytics and the maturity report read of each conversation, kept up to date as
-- its messages are stored (SQLite). Kept parallel to
-- migrations/postgres/0016_conversation_facts.sql.
--
-- A period's figures then read one row per conversation, and one counter per channel and
-- quarter hour, instead of every message of the period. The store sets the new columns in
-- the statement that marks a conversation changed by a message; the counters are kept by a
-- trigger, so every way a message is written counts.

ALTER TABLE conversations ADD COLUMN first_customer_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_customer_at INTEGER;
-- The assistant's first message of any kind (answer, question back, handoff notice).
ALTER TABLE conversations ADD COLUMN first_assistant_at INTEGER;
-- The assistant's first and last messages that answered (decision `answer`).
ALTER TABLE conversations ADD COLUMN first_answer_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_answer_at INTEGER;
-- Messages a person on the team sent the customer; private notes are not counted.
ALTER TABLE conversations ADD COLUMN agent_replies INTEGER NOT NULL DEFAULT 0;
-- Customer messages up to the latest handoff, counted when it happens.
ALTER TABLE conversations ADD COLUMN customer_messages_to_handoff INTEGER NOT NULL DEFAULT 0;
-- A person's first reply to the customer since the latest handoff.
ALTER TABLE conversations ADD COLUMN handoff_replied_at INTEGER;

UPDATE conversations SET
  (first_customer_at, last_customer_at, first_assistant_at, first_answer_at, last_answer_at,
   agent_replies, customer_messages_to_handoff, handoff_replied_at) = (
    SELECT
      MIN(CASE WHEN m.author = 'customer' THEN m.created_at END),
      MAX(CASE WHEN m.author = 'customer' THEN m.created_at END),
      MIN(CASE WHEN m.author = 'assistant' THEN m.created_at END),
      MIN(CASE WHEN m.author = 'assistant'
               AND json_extract(m.decision, '$.decision') = 'answer' THEN m.created_at END),
      MAX(CASE WHEN m.author = 'assistant'
               AND json_extract(m.decision, '$.decision') = 'answer' THEN m.created_at END),
      COALESCE(SUM(CASE WHEN m.author = 'agent' AND m.visibility = 'public'
                        THEN 1 ELSE 0 END), 0),
      COALESCE(SUM(CASE WHEN m.author = 'customer'
                        AND (conversations.handed_off_at IS NULL
                             OR m.created_at <= conversations.handed_off_at)
                        THEN 1 ELSE 0 END), 0),
      MIN(CASE WHEN m.author = 'agent' AND m.visibility = 'public'
               AND m.created_at >= conversations.handed_off_at THEN m.created_at END)
    FROM messages m WHERE m.conversation_id = conversations.id);

-- Customer messages per channel in slots of a quarter hour (unix milliseconds of the slot's
-- start), so that the report can place them in days of any time zone.
CREATE TABLE customer_volume (
    channel TEXT NOT NULL,
    slot_start INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (slot_start, channel)
);

INSERT INTO customer_volume (channel, slot_start, messages)
SELECT c.channel, (m.created_at / 900000) * 900000 AS slot, COUNT(*)
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.author = 'customer'
GROUP BY c.channel, slot;

CREATE TRIGGER messages_customer_volume AFTER INSERT ON messages
WHEN NEW.author = 'customer'
BEGIN
    INSERT INTO customer_volume (channel, slot_start, messages)
    SELECT channel, (NEW.created_at / 900000) * 900000, 1 FROM conversations
    WHERE id = NEW.conversation_id
    ON CONFLICT (slot_start, channel) DO UPDATE SET messages = customer_volume.messages + 1;
END;

-- The assistant's replies that could not answer, for the report's list of unanswered
-- questions: a handful among all the messages of a period.
CREATE INDEX messages_unanswered ON messages (created_at)
WHERE author = 'assistant'
  AND json_extract(decision, '$.reason') IN ('low_confidence', 'no_knowledge');
