-- Post-call documents on their way out, sealed under a per-item data key (AES-256-GCM) that
-- the tenant key wraps. Deleting the row (on delivery, or at the 72 h hard limit) destroys the
-- only wrapped copy of that key.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    call_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_ms);
