-- One-time changes to stored data that code carries out (not SQL), each marked done here:
-- `caller_hash_per_tenant` once caller hashes are keyed per tenant.
CREATE TABLE store_flags (
    name TEXT PRIMARY KEY,
    set_ms BIGINT NOT NULL
);
