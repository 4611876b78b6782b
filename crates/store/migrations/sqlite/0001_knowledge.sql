-- The knowledge base: FAQ entries, past tickets and document passages (SQLite).
--
-- Kept parallel to migrations/postgres/0001_knowledge.sql: same tables, columns and
-- constraint names, so the one Rust interface reads both the same way.
--
-- Times are unix milliseconds (INTEGER) written by the application, not SQL defaults:
-- both backends then agree to the millisecond and one import stamps every row alike.
--
-- Ids must not be empty (CHECK ... <> ''): an empty id can never be updated or cited
-- later, and the database is the last line of defence when an importer lets one through.

CREATE TABLE faq_entries (
    -- Chosen by the owner; importing the same id again updates the entry in place.
    id TEXT NOT NULL PRIMARY KEY,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    -- A JSON array of strings. Tags are always read with their entry and never
    -- queried one by one, so a join table would only cost writes.
    tags TEXT NOT NULL DEFAULT '[]',
    url TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT faq_entries_id_not_empty CHECK (id <> ''),
    CONSTRAINT faq_entries_tags_json CHECK (json_valid(tags))
);

CREATE TABLE tickets (
    -- Arrival order: tickets are read back in the order they were first imported.
    -- A rowid alias costs nothing, an upsert keeps it, and a new rowid is always above
    -- every existing one, so the order stays stable without AUTOINCREMENT.
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    message TEXT NOT NULL,
    -- Deliberately not a foreign key: a ticket export may be imported before the FAQ it
    -- points to, and removing a FAQ must not take its labelled examples with it.
    faq_id TEXT,
    answer TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT tickets_id_not_empty CHECK (id <> '')
);

CREATE TABLE doc_passages (
    id TEXT NOT NULL PRIMARY KEY,
    document TEXT NOT NULL,
    -- Place within the document, from the import order: ids such as `guide.md#10`
    -- do not sort numerically, so they cannot give the reading order.
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT doc_passages_id_not_empty CHECK (id <> ''),
    -- Also the index that serves "all passages of a document, in order" for reads and
    -- for the delete-then-insert of a document re-import.
    CONSTRAINT doc_passages_document_position UNIQUE (document, position)
);

-- One row per knowledge kind, bumped in the same transaction as every import that
-- changed something of that kind. max(updated_at) alone cannot see a deletion, and the
-- search index and trained model beside the database compare against this revision.
CREATE TABLE knowledge_revisions (
    kind TEXT NOT NULL PRIMARY KEY,
    revision INTEGER NOT NULL DEFAULT 0,
    -- Null until the first change of this kind.
    changed_at INTEGER,
    CONSTRAINT knowledge_revisions_kind CHECK (kind IN ('faq', 'ticket', 'doc'))
);

INSERT INTO knowledge_revisions (kind) VALUES ('faq'), ('ticket'), ('doc');

-- A random identity chosen when the database is created. Revision counters restart at
-- zero in a recreated database, so without it an index built against the old database
-- could look up to date against the new one.
CREATE TABLE store_identity (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    instance TEXT NOT NULL
);

INSERT INTO store_identity (singleton, instance) VALUES (1, lower(hex(randomblob(16))));
