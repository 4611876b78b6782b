-- What the analytics and the maturity report read of each conversation, kept up to date as
-- its messages are stored (PostgreSQL). Kept parallel to
-- migrations/sqlite/0016_conversation_facts.sql.
--
-- A period's figures then read one row per conversation, and one counter per channel and
-- quarter hour, instead of every message of the period. The store sets the new columns in
-- the statement that marks a conversation changed by a message; the counters are kept by a
-- trigger, so every way a message is written counts.

ALTER TABLE conversations
    ADD COLUMN first_customer_at BIGINT,
    ADD COLUMN last_customer_at BIGINT,
    -- The assistant's first message of any kind (answer, question back, handoff notice).
    ADD COLUMN first_assistant_at BIGINT,
    -- The assistant's first and last messages that answered (decision `answer`).
    ADD COLUMN first_answer_at BIGINT,
    ADD COLUMN last_answer_at BIGINT,
    -- Messages a person on the team sent the customer; private notes are not counted.
    ADD COLUMN agent_replies BIGINT NOT NULL DEFAULT 0,
    -- Customer messages up to the latest handoff, counted when it happens.
    ADD COLUMN customer_messages_to_handoff BIGINT NOT NULL DEFAULT 0,
    -- A person's first reply to the customer since the latest handoff.
    ADD COLUMN handoff_replied_at BIGINT;

UPDATE conversations c SET
    first_customer_at = facts.first_customer_at,
    last_customer_at = facts.last_customer_at,
    first_assistant_at = facts.first_assistant_at,
    first_answer_at = facts.first_answer_at,
    last_answer_at = facts.last_answer_at,
    agent_replies = facts.agent_replies,
    customer_messages_to_handoff = facts.customer_messages_to_handoff,
    handoff_replied_at = facts.handoff_replied_at
FROM (
    SELECT m.conversation_id,
        MIN(CASE WHEN m.author = 'customer' THEN m.created_at END) AS first_customer_at,
        MAX(CASE WHEN m.author = 'customer' THEN m.created_at END) AS last_customer_at,
        MIN(CASE WHEN m.author = 'assistant' THEN m.created_at END) AS first_assistant_at,
        MIN(CASE WHEN m.author = 'assistant' AND m.decision ->> 'decision' = 'answer'
                 THEN m.created_at END) AS first_answer_at,
        MAX(CASE WHEN m.author = 'assistant' AND m.decision ->> 'decision' = 'answer'
                 THEN m.created_at END) AS last_answer_at,
        SUM(CASE WHEN m.author = 'agent' AND m.visibility = 'public'
                 THEN 1 ELSE 0 END) AS agent_replies,
        SUM(CASE WHEN m.author = 'customer'
                 AND (c2.handed_off_at IS NULL OR m.created_at <= c2.handed_off_at)
                 THEN 1 ELSE 0 END) AS customer_messages_to_handoff,
        MIN(CASE WHEN m.author = 'agent' AND m.visibility = 'public'
                 AND m.created_at >= c2.handed_off_at THEN m.created_at END)
            AS handoff_replied_at
    FROM messages m JOIN conversations c2 ON c2.id = m.conversation_id
    GROUP BY m.conversation_id
) facts
WHERE c.id = facts.conversation_id;

-- Customer messages per channel in slots of a quarter hour (unix milliseconds of the slot's
-- start), so that the report can place them in days of any time zone.
CREATE TABLE customer_volume (
    channel TEXT NOT NULL,
    slot_start BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (slot_start, channel)
);

INSERT INTO customer_volume (channel, slot_start, messages)
SELECT c.channel, (m.created_at / 900000) * 900000 AS slot, COUNT(*)
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.author = 'customer'
GROUP BY c.channel, slot;

CREATE FUNCTION messages_customer_volume() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_volume (channel, slot_start, messages)
    SELECT channel, (NEW.created_at / 900000) * 900000, 1 FROM conversations
    WHERE id = NEW.conversation_id
    ON CONFLICT (slot_start, channel) DO UPDATE SET messages = customer_volume.messages + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER messages_customer_volume AFTER INSERT ON messages
FOR EACH ROW WHEN (NEW.author = 'customer') EXECUTE FUNCTION messages_customer_volume();

-- The assistant's replies that could not answer, for the report's list of unanswered
-- questions: a handful among all the messages of a period.
CREATE INDEX messages_unanswered ON messages (created_at)
WHERE author = 'assistant' AND (decision ->> 'reason') IN ('low_confidence', 'no_knowledge');
