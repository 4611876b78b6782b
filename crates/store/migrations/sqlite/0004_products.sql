-- The product catalog: products and the variants they are sold in (SQLite).
--
-- Kept parallel to migrations/postgres/0004_products.sql: same tables, columns and
-- constraint names, so the one Rust interface reads both the same way. Times are unix
-- milliseconds written by the application, as in 0001.

CREATE TABLE products (
    -- The shop's handle; importing the same id again replaces the product.
    id TEXT NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    -- Plain text: markup is reduced to text on import.
    description TEXT NOT NULL,
    vendor TEXT,
    product_type TEXT,
    -- JSON arrays of strings, as faq_entries.tags: always read with their product.
    tags TEXT NOT NULL DEFAULT '[]',
    url TEXT,
    status TEXT NOT NULL,
    -- Option names (Color, Size); each variant's option_values follow their order.
    options TEXT NOT NULL DEFAULT '[]',
    -- updated_at moves when the product or any of its variants changes: variants are
    -- only ever written together with their product.
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT products_id_not_empty CHECK (id <> ''),
    CONSTRAINT products_status CHECK (status IN ('active', 'draft', 'archived')),
    CONSTRAINT products_tags_json CHECK (json_valid(tags)),
    CONSTRAINT products_options_json CHECK (json_valid(options))
);

CREATE TABLE product_variants (
    -- Removing a product takes its variants with it: they mean nothing alone.
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- Place in the catalog's list, which is the order customers are shown.
    position INTEGER NOT NULL,
    sku TEXT,
    option_values TEXT NOT NULL DEFAULT '[]',
    -- Prices are decimal text as the catalog wrote them ("25", "17.99"): SQLite has no
    -- exact decimal type, and a binary float could change the price a customer is told.
    price TEXT,
    compare_at_price TEXT,
    -- Null when the shop does not track the variant's inventory.
    stock INTEGER,
    -- Text: barcodes are identifiers, and leading zeros or an exported 3.65275E+11
    -- must come back exactly as written.
    barcode TEXT,
    CONSTRAINT product_variants_pkey PRIMARY KEY (product_id, position),
    -- The importer refuses two variants with the same options; this is the last line
    -- of defence, as for empty ids.
    CONSTRAINT product_variants_options_unique UNIQUE (product_id, option_values),
    CONSTRAINT product_variants_option_values_json CHECK (json_valid(option_values))
);

-- Products get a revision counter like the other kinds, so the search index and model
-- can tell when the catalog changed. SQLite cannot change a CHECK in place, so the
-- table is rebuilt with the same columns and constraint names and its rows copied.
CREATE TABLE knowledge_revisions_new (
    kind TEXT NOT NULL PRIMARY KEY,
    revision INTEGER NOT NULL DEFAULT 0,
    -- Null until the first change of this kind.
    changed_at INTEGER,
    CONSTRAINT knowledge_revisions_kind CHECK (kind IN ('faq', 'ticket', 'doc', 'product'))
);

INSERT INTO knowledge_revisions_new (kind, revision, changed_at)
SELECT kind, revision, changed_at FROM knowledge_revisions;

DROP TABLE knowledge_revisions;

ALTER TABLE knowledge_revisions_new RENAME TO knowledge_revisions;

INSERT INTO knowledge_revisions (kind) VALUES ('product');
