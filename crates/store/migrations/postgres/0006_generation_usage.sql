-- One row per answer a language model was asked to phrase: what became of it and the
-- tokens it cost, for the usage figures and the monthly cost. `day` is the UTC date of
-- `created_at` (Unix milliseconds), kept so that totals per day need no date arithmetic
-- in SQL. Kept parallel to migrations/sqlite/0006_generation_usage.sql.

CREATE TABLE generation_usage (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT REFERENCES conversations(id) ON DELETE SET NULL,
    message_id BIGINT REFERENCES messages(id) ON DELETE SET NULL,
    model TEXT NOT NULL,
    outcome TEXT NOT NULL,
    cause TEXT,
    prompt_tokens BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    estimated BOOLEAN NOT NULL,
    day TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX generation_usage_by_day ON generation_usage (day);
CREATE INDEX generation_usage_by_conversation ON generation_usage (conversation_id);
