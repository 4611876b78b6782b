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
