-- SIP trunks: where a tenant's calls may come from. A trunk admits source addresses in
-- allowed_ips (JSON array of CIDRs) and/or requests with digest credentials (username, and the
-- password sealed under the tenant key; NULL sealed columns when the trunk has no password),
-- answered with one of digest_algorithms (JSON array, challenge order: SHA-256, MD5).
CREATE TABLE trunks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    allowed_ips TEXT NOT NULL,
    username TEXT,
    digest_algorithms TEXT NOT NULL,
    key_version BIGINT,
    wrapped_key BYTEA,
    ciphertext BYTEA,
    created_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, username)
);
ALTER TABLE trunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE trunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON trunks USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
