-- Dashboard users (argon2id hashes), their sessions and invitations; phone numbers, agents and
-- integrations (secrets sealed); usage metering and limits; kept transcripts and recordings
-- (sealed, only when the tenant's policy keeps them); operational events (allow-listed fields).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    disabled_ms BIGINT,
    UNIQUE (tenant_id, email)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    accepted_ms BIGINT
);
CREATE TABLE agents (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE phone_numbers (
    number TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    agent TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    FOREIGN KEY (tenant_id, agent) REFERENCES agents(tenant_id, name)
);
CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    wrapped_key BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE TABLE usage (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    month TEXT NOT NULL,
    metric TEXT NOT NULL,
    provider TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, metric, provider)
);
CREATE TABLE tenant_limits (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    max_concurrent_calls BIGINT NOT NULL,
    max_minutes_per_month BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE kept_artifacts (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    caller_hash TEXT NOT NULL,
    recipient TEXT NOT NULL,
    key_version BIGINT NOT NULL,
    wrapped_key BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, call_id, kind)
);
CREATE INDEX kept_artifacts_expiry ON kept_artifacts(tenant_id, expires_ms);
CREATE TABLE operational_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    code BIGINT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX operational_events_tenant_at ON operational_events(tenant_id, at_ms);
ALTER TABLE data_policies ADD COLUMN recording_public_key TEXT;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE agents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agents USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE phone_numbers ENABLE ROW LEVEL SECURITY;
ALTER TABLE phone_numbers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON phone_numbers USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE tenant_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_limits USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE kept_artifacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE kept_artifacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kept_artifacts USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
ALTER TABLE operational_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE operational_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON operational_events USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
