-- The knowledge base: FAQ entries, past tickets and document passages (PostgreSQL).
--
-- Kept parallel to migrations/sqlite/0001_knowledge.sql: same tables, columns and
-- constraint names, so the one Rust interface reads both the same way.
--
-- Times are unix milliseconds (BIGINT) written by the application, not SQL defaults:
-- both backends then agree to the millisecond and one import stamps every row alike.
--
-- Ids and document names use COLLATE "C": reads are ordered by them, and byte order is
-- what SQLite gives, whatever locale this database was created with.
--
-- Ids must not be empty (CHECK ... <> ''): an empty id can never be updated or cited
-- later, and the database is the last line of defence when an importer lets one through.
--
-- Tables are created unqualified, in the first schema of the search_path, so that tests
-- (and several installations sharing one database) can each live in their own schema.

CREATE TABLE faq_entries (
    -- Chosen by the owner; importing the same id again updates the entry in place.
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    -- A JSON array of strings. Tags are always read with their entry, so a join table
    -- would only cost writes; jsonb validates on write and leaves tag queries possible.
    tags JSONB NOT NULL DEFAULT '[]',
    url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT faq_entries_id_not_empty CHECK (id <> ''),
    CONSTRAINT faq_entries_tags_json CHECK (jsonb_typeof(tags) = 'array')
);

CREATE TABLE tickets (
    -- Arrival order: tickets are read back in the order they were first imported, and
    -- an upsert keeps the row's seq. Gaps left by conflicting inserts are harmless.
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    message TEXT NOT NULL,
    -- Deliberately not a foreign key: a ticket export may be imported before the FAQ it
    -- points to, and removing a FAQ must not take its labelled examples with it.
    faq_id TEXT,
    answer TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT tickets_id_not_empty CHECK (id <> '')
);

CREATE TABLE doc_passages (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    document TEXT COLLATE "C" NOT NULL,
    -- Place within the document, from the import order: ids such as `guide.md#10`
    -- do not sort numerically, so they cannot give the reading order.
    position BIGINT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT doc_passages_id_not_empty CHECK (id <> ''),
    -- Also the index that serves "all passages of a document, in order" for reads and
    -- for the delete-then-insert of a document re-import.
    CONSTRAINT doc_passages_document_position UNIQUE (document, position)
);

-- One row per knowledge kind, bumped in the same transaction as every import that
-- changed something of that kind. max(updated_at) alone cannot see a deletion, and the
-- search index and trained model beside the database compare against this revision.
-- Imports lock their kind's row first (SELECT ... FOR UPDATE), so two imports of one
-- kind run one after the other and their inserted/updated counts stay exact.
CREATE TABLE knowledge_revisions (
    kind TEXT NOT NULL PRIMARY KEY,
    revision BIGINT NOT NULL DEFAULT 0,
    -- Null until the first change of this kind.
    changed_at BIGINT,
    CONSTRAINT knowledge_revisions_kind CHECK (kind IN ('faq', 'ticket', 'doc'))
);

INSERT INTO knowledge_revisions (kind) VALUES ('faq'), ('ticket'), ('doc');

-- A random identity chosen when the database is created. Revision counters restart at
-- zero in a recreated database, so without it an index built against the old database
-- could look up to date against the new one. gen_random_uuid() is built in since 13.
CREATE TABLE store_identity (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    instance TEXT NOT NULL
);

INSERT INTO store_identity (singleton, instance) VALUES (1, gen_random_uuid()::text);
