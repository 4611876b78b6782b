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

-- The secret in a rating link sent on a channel other than the widget. It opens the
-- rating page of its conversation and nothing else (the conversation's own token would
-- also read and write its messages); only a digest of it is kept.
CREATE TABLE rating_links (
    token_digest TEXT PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id),
    created_at INTEGER NOT NULL
);
