-- The application runs as role parley_app (NOLOGIN; the server SETs ROLE to it after connecting,
-- or logs in as a member of it). It owns no table, so row-level security, enabled and forced on
-- every tenant table, always applies to it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_app') THEN
        CREATE ROLE parley_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'parley_app', 'MEMBER') THEN
        EXECUTE format('GRANT parley_app TO %I', current_user);
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO parley_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO parley_app;

-- The tenant a transaction works for is `parley.tenant_id` (set LOCAL by the query layer);
-- operator work sets `parley.platform` to `on` instead.
CREATE FUNCTION parley_may_see(t TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT t = NULLIF(current_setting('parley.tenant_id', true), '')
        OR COALESCE(current_setting('parley.platform', true), '') = 'on'
$$;

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_ms BIGINT NOT NULL
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
    started_ms BIGINT NOT NULL,
    answered_ms BIGINT,
    ended_ms BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    end_reason TEXT NOT NULL,
    routing TEXT NOT NULL,
    turns BIGINT NOT NULL,
    retries BIGINT NOT NULL,
    webhook_status TEXT NOT NULL
);
CREATE INDEX calls_tenant_started ON calls(tenant_id, started_ms);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id),
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id);

CREATE TABLE tenant_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    version BIGINT NOT NULL,
    master_id TEXT NOT NULL,
    wrapped BYTEA NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_id TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_heads (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    signed_ms BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (parley_may_see(id)) WITH CHECK (parley_may_see(id));

ALTER TABLE calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calls USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

-- Operator keys have no tenant: only platform work sees them.
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

ALTER TABLE tenant_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_keys USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_heads USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));

-- The audit log is append-only for the application.
REVOKE UPDATE, DELETE ON audit_log, audit_heads FROM parley_app;
