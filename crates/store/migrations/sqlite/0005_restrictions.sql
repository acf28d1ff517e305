-- Data-subject restriction: calls from these callers (keyed hash) are answered, but nothing
-- about them is stored or delivered.
CREATE TABLE restrictions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    caller_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, caller_hash)
);
CREATE INDEX calls_tenant_caller ON calls(tenant_id, caller_hash);
