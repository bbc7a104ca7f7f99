-- Each tenant's metered usage per month as stored totals, so the Metered usage page and its
-- API read one row per month instead of summing every LoadMaster's monthly peak per request.
-- A report recomputes the totals of the months it touched from `metered_monthly`, in the same
-- transaction (under the tenant's lock on PostgreSQL), so each total equals its sum; the
-- hourly check compares and repairs them all the same.
CREATE TABLE metered_month_totals (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    -- The sum of the metered LoadMasters' monthly peaks: the month's metered usage.
    usage_bytes_per_second BIGINT NOT NULL,
    metered_loadmasters BIGINT NOT NULL,
    -- Every LoadMaster that reported in the month, metered or not (the page's table).
    reporting_loadmasters BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month)
);
INSERT INTO metered_month_totals (tenant_id, month, usage_bytes_per_second, metered_loadmasters, reporting_loadmasters)
SELECT tenant_id, month,
       CAST(SUM(CASE WHEN metered = 1 THEN peak_bytes_per_second ELSE 0 END) AS BIGINT),
       CAST(SUM(metered) AS BIGINT), CAST(COUNT(*) AS BIGINT)
FROM metered_monthly GROUP BY tenant_id, month;

-- The page's table in its sort orders, a page at a time without sorting the month.
CREATE INDEX metered_monthly_by_peak ON metered_monthly (tenant_id, month, peak_bytes_per_second, license_id);
CREATE INDEX metered_monthly_by_ssl ON metered_monthly (tenant_id, month, peak_ssl_tps, license_id);
