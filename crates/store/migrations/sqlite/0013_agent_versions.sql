-- Every saved version of an agent's document (the newest 100 of each agent), for the console's
-- history and rollback. author is the audit actor (`user:<id>` or `key:<id>`); restored_from the
-- version a rollback copied. Existing agents start with their current document as version 1.
CREATE TABLE agent_versions (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    author TEXT NOT NULL,
    restored_from INTEGER,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
);
INSERT INTO agent_versions (tenant_id, name, version, spec, author, restored_from, created_ms)
    SELECT tenant_id, name, 1, spec, '-', NULL, updated_ms FROM agents;
