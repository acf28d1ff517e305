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
    register_enabled BIGINT NOT NULL,
    register_expires BIGINT NOT NULL,
    key_version BIGINT,
    wrapped_key BYTEA,
    ciphertext BYTEA,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
ALTER TABLE gateways ENABLE ROW LEVEL SECURITY;
ALTER TABLE gateways FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON gateways USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

-- Whether a tenant may call out at all (no row: it may not), how fast and how many at once,
-- and to which number prefixes (JSON array, e.g. ["+49", "+1"]; toll-fraud control).
CREATE TABLE outbound_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    enabled BIGINT NOT NULL,
    calls_per_second BIGINT NOT NULL,
    max_concurrent BIGINT NOT NULL,
    allowed_prefixes TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
ALTER TABLE outbound_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbound_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbound_policies USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
