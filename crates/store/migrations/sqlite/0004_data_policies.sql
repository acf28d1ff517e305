-- Each tenant's data policy (absent: the defaults in src/policy.rs).
CREATE TABLE data_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id),
    recording_days INTEGER NOT NULL,
    transcript_days INTEGER NOT NULL,
    call_metadata_days INTEGER NOT NULL,
    operational_log_days INTEGER NOT NULL,
    redact_pii INTEGER NOT NULL,
    allowed_providers TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX calls_tenant_ended ON calls(tenant_id, ended_ms);
