CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);

-- Call metadata only: no audio, no transcript, no full phone numbers.
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent TEXT NOT NULL,
    caller_masked TEXT NOT NULL,
    caller_hash TEXT NOT NULL,
    callee TEXT NOT NULL,
    transport TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    answered_ms INTEGER,
    ended_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    end_reason TEXT NOT NULL,
    routing TEXT NOT NULL,
    turns INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    webhook_status TEXT NOT NULL
);
CREATE INDEX calls_tenant_started ON calls(tenant_id, started_ms);
