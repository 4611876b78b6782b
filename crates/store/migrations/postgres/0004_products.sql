-- The product catalog: products and the variants they are sold in (PostgreSQL).
--
-- Kept parallel to migrations/sqlite/0004_products.sql: same tables, columns and
-- constraint names, so the one Rust interface reads both the same way. Times are unix
-- milliseconds written by the application, and ids use COLLATE "C" so that reads come
-- back in SQLite's byte order, as in 0001.

CREATE TABLE products (
    -- The shop's handle; importing the same id again replaces the product.
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    -- Plain text: markup is reduced to text on import.
    description TEXT NOT NULL,
    vendor TEXT,
    product_type TEXT,
    -- JSON arrays of strings, as faq_entries.tags: always read with their product.
    tags JSONB NOT NULL DEFAULT '[]',
    url TEXT,
    status TEXT NOT NULL,
    -- Option names (Color, Size); each variant's option_values follow their order.
    options JSONB NOT NULL DEFAULT '[]',
    -- updated_at moves when the product or any of its variants changes: variants are
    -- only ever written together with their product.
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT products_id_not_empty CHECK (id <> ''),
    CONSTRAINT products_status CHECK (status IN ('active', 'draft', 'archived')),
    CONSTRAINT products_tags_json CHECK (jsonb_typeof(tags) = 'array'),
    CONSTRAINT products_options_json CHECK (jsonb_typeof(options) = 'array')
);

CREATE TABLE product_variants (
    -- Removing a product takes its variants with it: they mean nothing alone.
    product_id TEXT COLLATE "C" NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    -- Place in the catalog's list, which is the order customers are shown.
    position BIGINT NOT NULL,
    sku TEXT,
    option_values JSONB NOT NULL DEFAULT '[]',
    -- Prices are decimal text as the catalog wrote them ("25", "17.99"), as in the
    -- SQLite twin, which has no exact decimal type: NUMERIC would turn "25.0" into 25.0
    -- on one backend only.
    price TEXT,
    compare_at_price TEXT,
    -- Null when the shop does not track the variant's inventory.
    stock BIGINT,
    -- Text: barcodes are identifiers, and leading zeros or an exported 3.65275E+11
    -- must come back exactly as written.
    barcode TEXT,
    CONSTRAINT product_variants_pkey PRIMARY KEY (product_id, position),
    -- The importer refuses two variants with the same options; this is the last line
    -- of defence, as for empty ids.
    CONSTRAINT product_variants_options_unique UNIQUE (product_id, option_values),
    CONSTRAINT product_variants_option_values_json CHECK (jsonb_typeof(option_values) = 'array')
);

-- Products get a revision counter like the other kinds, so the search index and model
-- can tell when the catalog changed.
ALTER TABLE knowledge_revisions
    DROP CONSTRAINT knowledge_revisions_kind,
    ADD CONSTRAINT knowledge_revisions_kind
        CHECK (kind IN ('faq', 'ticket', 'doc', 'product'));

INSERT INTO knowledge_revisions (kind) VALUES ('product');
