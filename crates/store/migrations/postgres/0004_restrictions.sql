CREATE TABLE restrictions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    caller_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, caller_hash)
);
CREATE INDEX calls_tenant_caller ON calls(tenant_id, caller_hash);
ALTER TABLE restrictions ENABLE ROW LEVEL SECURITY;
ALTER TABLE restrictions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON restrictions USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
