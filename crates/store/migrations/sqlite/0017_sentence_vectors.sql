-- Sentence vectors already computed (SQLite). Kept parallel to
-- migrations/postgres/0017_sentence_vectors.sql.

-- What the embedding model made of each FAQ question and ticket, so that a rebuild of the
-- assistant encodes only what is new or changed. Keyed by the model's name and a 64-bit hash
-- of the exact text; the vector is its 32-bit floats, little-endian. Derived data: deleting
-- every row costs only encoding time.
CREATE TABLE sentence_vectors (
    model TEXT NOT NULL,
    text_key INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text_key)
) WITHOUT ROWID;
