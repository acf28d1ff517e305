-- API keys: the secret is shown once and stored only as a SHA-256 digest.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

-- Per-tenant keys, wrapped (AES-256-GCM) under the master key. Deleting a tenant's rows
-- crypto-shreds everything sealed under them.
CREATE TABLE tenant_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    version INTEGER NOT NULL,
    master_id TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- Hash-chained audit log, one chain per tenant (`_platform` for operator actions). No PII.
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

-- Signed chain heads (ed25519).
CREATE TABLE audit_heads (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signed_ms INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
