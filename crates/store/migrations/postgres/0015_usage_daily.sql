-- The same counters as `usage`, per day (UTC, `YYYY-MM-DD`), for the console's daily charts.
-- Metered from this version on; months before it have their monthly counters only.
CREATE TABLE usage_daily (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    provider TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day, metric, provider)
);
ALTER TABLE usage_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_daily USING (parley_may_see(tenant_id)) WITH CHECK (parley_may_see(tenant_id));
