-- Customers' satisfaction ratings (SQLite). Kept parallel to
-- migrations/postgres/0012_satisfaction.sql.

-- One rating per conversation, asked after it is resolved; a customer who rates again
-- replaces their rating.
CREATE TABLE satisfaction_ratings (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id),
    score INTEGER NOT NULL,
    comment TEXT,
    rated_at INTEGER NOT NULL,
    CONSTRAINT satisfaction_ratings_score CHECK (score BETWEEN 1 AND 5)
);

CREATE INDEX satisfaction_ratings_rated_at ON satisfaction_ratings (rated_at);
