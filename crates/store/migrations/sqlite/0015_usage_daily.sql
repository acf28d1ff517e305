-- The same counters as `usage`, per day (UTC, `YYYY-MM-DD`), for the console's daily charts.
-- Metered from this version on; months before it have their monthly counters only.
CREATE TABLE usage_daily (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    day TEXT NOT NULL,
    metric TEXT NOT NULL,
    provider TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, day, metric, provider)
);
