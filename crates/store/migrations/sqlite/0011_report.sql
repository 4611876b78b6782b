-- What the owner's report reads (SQLite). Kept parallel to
-- migrations/postgres/0011_report.sql.

-- Analytics count messages by when they arrived, across every conversation.
CREATE INDEX messages_created_at ON messages (created_at);

-- The owner's own answers to the maturity questions the data cannot answer (who
-- maintains the system, what it costs), one row per question, the latest answer kept.
CREATE TABLE maturity_answers (
    question TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    answered_by INTEGER REFERENCES users (id),
    answered_at INTEGER NOT NULL,
    CONSTRAINT maturity_answers_level CHECK (level BETWEEN 1 AND 5)
);

-- The weekly review: what the team said of each assistant reply it looked at (one row
-- per reply, the latest word kept), and each review finished.
CREATE TABLE review_verdicts (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id),
    verdict TEXT NOT NULL,
    -- The FAQ that should have answered, when the reply was wrong and one does.
    faq_id TEXT,
    user_id INTEGER REFERENCES users (id),
    reviewed_at INTEGER NOT NULL,
    CONSTRAINT review_verdicts_verdict CHECK (verdict IN ('right', 'wrong'))
);

CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    -- The days reviewed, YYYY-MM-DD in the business's time zone, both included.
    from_day TEXT NOT NULL,
    to_day TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id),
    items INTEGER NOT NULL,
    marked_wrong INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);

-- The channels (widget, email, whatsapp, ...) an agent works. An agent with no row here
-- works every channel; owners always see everything.
CREATE TABLE user_channels (
    user_id INTEGER NOT NULL REFERENCES users (id),
    channel TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
);
