-- When a conversation first showed a customer thinking of buying ("is it in stock?",
-- "which one should I get?"), so analytics can count the shoppers the assistant helped.
-- Unix milliseconds; NULL while it has not. Kept parallel to
-- migrations/postgres/0005_buying_intent.sql.

ALTER TABLE conversations ADD COLUMN buying_intent_at INTEGER;
