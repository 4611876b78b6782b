-- Connected channels (a WhatsApp number, a Telegram bot, a page, a mailbox), what arrives
-- through them, and the outbox that carries replies back (PostgreSQL).
-- Kept parallel to migrations/sqlite/0007_channels.sql: same tables, columns and names.

CREATE TABLE channels (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The channel's settings and secrets as JSON. Secrets live here so that every
    -- instance serving this database verifies and sends alike.
    config JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT channels_name UNIQUE (name),
    CONSTRAINT channels_name_not_empty CHECK (name <> ''),
    CONSTRAINT channels_config_json CHECK (jsonb_typeof(config) = 'object')
);

-- A conversation on a connected channel: which channel, the provider's conversation key
-- ("<channel id>/<key>", one conversation per key, enforced here so that two deliveries
-- from a new customer at once cannot open two), and where replies go.
ALTER TABLE conversations ADD COLUMN channel_id BIGINT REFERENCES channels (id);
ALTER TABLE conversations ADD COLUMN channel_key TEXT;
ALTER TABLE conversations ADD COLUMN reply_to TEXT;
CREATE UNIQUE INDEX conversations_channel_key ON conversations (channel_key);

-- A provider's message id is unique within its channel: a redelivery of the same message,
-- however many times and however close together, is stored once.
ALTER TABLE messages ADD COLUMN channel_id BIGINT REFERENCES channels (id);
ALTER TABLE messages ADD COLUMN provider_message_id TEXT;
ALTER TABLE messages ADD COLUMN sent_at BIGINT;
ALTER TABLE messages ADD COLUMN attachments JSONB NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN receipt TEXT;
ALTER TABLE messages ADD COLUMN delivery_error TEXT;
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
CREATE UNIQUE INDEX messages_provider_id ON messages (channel_id, provider_message_id);

-- Every reply to a connected channel is a row here, written in the transaction that stores
-- the message, before any attempt to send it. A reply too long for its channel goes out in
-- parts; `parts_sent` is how many have been accepted, so a retry resumes after them.
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    reply_to TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    parts_sent BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- While `sending`: the attempt's lease. A lease that runs out means the sender stopped
    -- half-way (a crash); another takes the row over.
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT outbox_state CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    CONSTRAINT outbox_message UNIQUE (message_id)
);

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
-- Replies to one customer leave in the order they were written.
CREATE INDEX outbox_thread ON outbox (channel_id, reply_to, id);

-- The provider's id of every part sent, so that its receipts find the message.
CREATE TABLE outbox_parts (
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    provider_message_id TEXT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    part BIGINT NOT NULL,
    CONSTRAINT outbox_parts_provider UNIQUE (channel_id, provider_message_id)
);

-- Deliveries, or parts of them, that were accepted but not taken: an unsupported type, a
-- body that did not parse, processing that failed. Kept with the raw body so that nothing
-- a provider sent is lost, and the provider is told 200 so it does not resend forever.
CREATE TABLE webhook_problems (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES channels (id),
    received_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    body BYTEA NOT NULL,
    CONSTRAINT webhook_problems_outcome CHECK (outcome IN ('unsupported', 'failed'))
);
