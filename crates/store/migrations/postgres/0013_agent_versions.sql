-- Every saved version of an agent's document (the newest 100 of each agent), for the console's
-- history and rollback. author is the audit actor (`user:<id>` or `key:<id>`); restored_from the
-- version a rollback copied. Existing agents start with their current document as version 1.
CREATE TABLE agent_versions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    spec TEXT NOT NULL,
    author TEXT NOT NULL,
    restored_from BIGINT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
);
ALTER TABLE agent_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE agent_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON agent_versions USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
-- The copy runs as platform work (row-level security is forced on the owner too); the setting
-- ends with this migration's transaction.
SELECT set_config('parley.platform', 'on', true);
INSERT INTO agent_versions (tenant_id, name, version, spec, author, restored_from, created_ms)
    SELECT tenant_id, name, 1, spec, '-', NULL, updated_ms FROM agents;
