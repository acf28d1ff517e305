-- Tenant work and operator work log in as two roles of their own, neither of them the owner:
-- `parley_tenant_<id>`, a member of parley_app only, and `parley_platform_<id>`, a member of
-- parley_platform. Platform visibility follows from the role a session logged in as; no setting
-- a session can change turns it on (before, any session could set `parley.platform`).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_platform') THEN
        CREATE ROLE parley_platform NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
-- Its table rights are parley_app's (audit rows stay append-only for both).
GRANT parley_app TO parley_platform;

CREATE OR REPLACE FUNCTION parley_may_see(t TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT t = NULLIF(current_setting('parley.tenant_id', true), '')
        OR pg_has_role(current_user, 'parley_platform', 'MEMBER')
$$;

-- The login roles of this database and their passwords, for the owner only: the store reads
-- them after migrating and opens its two pools with them.
CREATE TABLE parley_logins (
    scope TEXT PRIMARY KEY CHECK (scope IN ('tenant', 'platform')),
    role_name TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL
);
REVOKE ALL ON parley_logins FROM PUBLIC, parley_app, parley_platform;
-- No policy: nobody but the owner reads a row, even if a grant slips in.
ALTER TABLE parley_logins ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    id TEXT := left(replace(gen_random_uuid()::text, '-', ''), 16);
    scope TEXT;
    member_of TEXT;
    name TEXT;
    pw TEXT;
BEGIN
    FOREACH scope IN ARRAY ARRAY['tenant', 'platform'] LOOP
        member_of := CASE scope WHEN 'tenant' THEN 'parley_app' ELSE 'parley_platform' END;
        name := format('parley_%s_%s', scope, id);
        pw := replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT PASSWORD %L IN ROLE %I', name, pw, member_of);
        INSERT INTO parley_logins (scope, role_name, password) VALUES (scope, name, pw);
    END LOOP;
END $$;
-- Both may connect, also where CONNECT was revoked from PUBLIC.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO parley_app', current_database());
END $$;
