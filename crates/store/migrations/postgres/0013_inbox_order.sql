-- The inbox lists the conversations with the latest activity first, by status or all of
-- them (PostgreSQL). Kept parallel to the other backend's 0013_inbox_order.sql.
CREATE INDEX conversations_status_updated ON conversations (status, updated_at);
CREATE INDEX conversations_updated ON conversations (updated_at);
