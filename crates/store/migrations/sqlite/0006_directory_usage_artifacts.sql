-- Dashboard users (argon2id hashes), their sessions and invitations; phone numbers, agents and
-- integrations (secrets sealed); usage metering and limits; kept transcripts and recordings
-- (sealed, only when the tenant's policy keeps them); operational events (allow-listed fields).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    disabled_ms INTEGER,
    UNIQUE (tenant_id, email)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    accepted_ms INTEGER
);
CREATE TABLE agents (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE phone_numbers (
    number TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, agent) REFERENCES agents(tenant_id, name)
);
CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE usage (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    month TEXT NOT NULL,
    metric TEXT NOT NULL,
    provider TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, month, metric, provider)
);
CREATE TABLE tenant_limits (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    max_concurrent_calls INTEGER NOT NULL,
    max_minutes_per_month INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE kept_artifacts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    caller_hash TEXT NOT NULL,
    recipient TEXT NOT NULL,
    key_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, call_id, kind)
);
CREATE INDEX kept_artifacts_expiry ON kept_artifacts(tenant_id, expires_ms);
CREATE TABLE operational_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    code INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX operational_events_tenant_at ON operational_events(tenant_id, at_ms);
ALTER TABLE data_policies ADD COLUMN recording_public_key TEXT;
