-- Outbound calling. A gateway is a provider the tenant's agents call out through (and may
-- register with): its proxy address and transport, the SIP domain, the caller ID presented,
-- and optional digest credentials (password sealed under the tenant key).
CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    proxy TEXT NOT NULL,
    transport TEXT NOT NULL,
    domain TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    username TEXT,
    register_enabled INTEGER NOT NULL,
    register_expires INTEGER NOT NULL,
    key_version INTEGER,
    wrapped_key BLOB,
    ciphertext BLOB,
    created_ms INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

-- Whether a tenant may call out at all (no row: it may not), how fast and how many at once,
-- and to which number prefixes (JSON array, e.g. ["+49", "+1"]; toll-fraud control).
CREATE TABLE outbound_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    enabled INTEGER NOT NULL,
    calls_per_second INTEGER NOT NULL,
    max_concurrent INTEGER NOT NULL,
    allowed_prefixes TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
