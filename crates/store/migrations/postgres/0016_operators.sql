-- Operators (the people running the installation) and their console sessions: no tenant.
-- Platform work alone reads or writes them: the tenant role has no rights on either table,
-- and row-level security admits only members of parley_platform besides.
CREATE TABLE operators (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    disabled_ms BIGINT
);
CREATE TABLE operator_sessions (
    id TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(id),
    secret_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
REVOKE ALL ON operators, operator_sessions FROM PUBLIC, parley_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON operators, operator_sessions TO parley_platform;
ALTER TABLE operators ENABLE ROW LEVEL SECURITY;
ALTER TABLE operators FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON operators USING (pg_has_role(current_user, 'parley_platform', 'MEMBER')) WITH CHECK (pg_has_role(current_user, 'parley_platform', 'MEMBER'));
ALTER TABLE operator_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE operator_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_only ON operator_sessions USING (pg_has_role(current_user, 'parley_platform', 'MEMBER')) WITH CHECK (pg_has_role(current_user, 'parley_platform', 'MEMBER'));
