-- Contacts, their identities per channel, conversations and messages (PostgreSQL).
--
-- Kept parallel to migrations/sqlite/0002_conversations.sql: same tables, columns and
-- constraint names. Times are unix milliseconds written by the application, as in 0001.
--
-- Channel names are not CHECKed: new channels arrive with new adapters, and the SQLite
-- twin of this table could only change a CHECK by rebuilding the table. Statuses and
-- authors are a closed set that the conversation rules depend on, so those are.

CREATE TABLE contacts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT,
    created_at BIGINT NOT NULL
);

-- A person as one channel knows them. Kept apart from the contact so that one person
-- writing from two channels can later be merged into one contact without losing either
-- identity.
CREATE TABLE contact_identities (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT contact_identities_channel_external_id UNIQUE (channel, external_id),
    CONSTRAINT contact_identities_external_id_not_empty CHECK (external_id <> '')
);

CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The customer side's secret handle (the widget keeps it in the browser). Ids are
    -- sequential and so guessable; the token is what a public request must present.
    token TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    -- The identity replies go back to: a contact may have several on one channel.
    identity_id BIGINT NOT NULL REFERENCES contact_identities (id),
    status TEXT NOT NULL DEFAULT 'bot',
    -- The agent holding it. Plain text until user accounts exist.
    assignee TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    handed_off_at BIGINT,
    first_human_reply_at BIGINT,
    resolved_at BIGINT,
    handoff_reason TEXT,
    handoff_summary TEXT,
    CONSTRAINT conversations_token UNIQUE (token),
    CONSTRAINT conversations_token_not_empty CHECK (token <> ''),
    CONSTRAINT conversations_status
        CHECK (status IN ('bot', 'waiting', 'assigned', 'resolved'))
);

-- The inbox lists conversations by status, oldest first.
CREATE INDEX conversations_status ON conversations (status, id);
CREATE INDEX conversations_contact ON conversations (contact_id);

CREATE TABLE messages (
    -- Clients catch up with "messages after id N". Identity values are never reused;
    -- within one conversation messages are written one at a time (the server serialises
    -- a conversation's turns), so ids also commit in order there.
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    -- The assistant's decision (the public decision object), null otherwise.
    decision JSONB,
    -- What the message was drawn from: a JSON list of {"kind", "id"}.
    sources JSONB NOT NULL DEFAULT '[]',
    delivery TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT messages_author CHECK (author IN ('customer', 'assistant', 'agent', 'system')),
    CONSTRAINT messages_delivery CHECK (delivery IN ('received', 'pending', 'sent', 'failed')),
    CONSTRAINT messages_decision_json
        CHECK (decision IS NULL OR jsonb_typeof(decision) = 'object'),
    CONSTRAINT messages_sources_json CHECK (jsonb_typeof(sources) = 'array')
);

-- Reading a conversation, and catching up after a message id.
CREATE INDEX messages_conversation ON messages (conversation_id, id);
