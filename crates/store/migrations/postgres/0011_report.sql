-- What the owner's report reads (PostgreSQL). Kept parallel to
-- migrations/sqlite/0011_report.sql.

-- Analytics count messages by when they arrived, across every conversation.
CREATE INDEX messages_created_at ON messages (created_at);

-- The owner's own answers to the maturity questions the data cannot answer (who
-- maintains the system, what it costs), one row per question, the latest answer kept.
CREATE TABLE maturity_answers (
    question TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    answered_by BIGINT REFERENCES users (id),
    answered_at BIGINT NOT NULL,
    CONSTRAINT maturity_answers_level CHECK (level BETWEEN 1 AND 5)
);

-- The weekly review: what the team said of each assistant reply it looked at (one row
-- per reply, the latest word kept), and each review finished.
CREATE TABLE review_verdicts (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id),
    verdict TEXT NOT NULL,
    -- The FAQ that should have answered, when the reply was wrong and one does.
    faq_id TEXT,
    user_id BIGINT REFERENCES users (id),
    reviewed_at BIGINT NOT NULL,
    CONSTRAINT review_verdicts_verdict CHECK (verdict IN ('right', 'wrong'))
);

CREATE TABLE reviews (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The days reviewed, YYYY-MM-DD in the business's time zone, both included.
    from_day TEXT NOT NULL,
    to_day TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    items BIGINT NOT NULL,
    marked_wrong BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);

-- The channels (widget, email, whatsapp, ...) an agent works. An agent with no row here
-- works every channel; owners always see everything.
CREATE TABLE user_channels (
    user_id BIGINT NOT NULL REFERENCES users (id),
    channel TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
);
