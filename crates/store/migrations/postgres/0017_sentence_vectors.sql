-- Sentence vectors already computed (PostgreSQL). Kept parallel to
-- migrations/sqlite/0017_sentence_vectors.sql.

-- What the embedding model made of each FAQ question and ticket, so that a rebuild of the
-- assistant encodes only what is new or changed. Keyed by the model's name and a 64-bit hash
-- of the exact text; the vector is its 32-bit floats, little-endian. Derived data: deleting
-- every row costs only encoding time.
CREATE TABLE sentence_vectors (
    model TEXT NOT NULL,
    text_key BIGINT NOT NULL,
    vector BYTEA NOT NULL,
    PRIMARY KEY (model, text_key)
);
