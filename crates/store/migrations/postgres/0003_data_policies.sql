CREATE TABLE data_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    recording_days BIGINT NOT NULL,
    transcript_days BIGINT NOT NULL,
    call_metadata_days BIGINT NOT NULL,
    operational_log_days BIGINT NOT NULL,
    redact_pii BIGINT NOT NULL,
    allowed_providers TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX calls_tenant_ended ON calls(tenant_id, ended_ms);
ALTER TABLE data_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON data_policies USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
