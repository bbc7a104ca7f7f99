-- Metered licensing (MELA): a tenant's metered contract and its usage tiers, the usage
-- samples metered LoadMasters report every five minutes, and each LoadMaster's peaks per
-- UTC day and per month, kept up to date in the same transaction as the sample that moves
-- them. The peaks carry no foreign key to `licenses`: they are billing records and outlive
-- whatever happens to the license.

-- A license taken through the connector while its tenant has a metered contract. Only these
-- count toward metered usage; a LoadMaster licensed any other way may report samples too.
ALTER TABLE licenses ADD COLUMN metered BIGINT NOT NULL DEFAULT 0 CHECK (metered IN (0, 1));

CREATE TABLE metered_contracts (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    contract_id TEXT NOT NULL,
    max_activations BIGINT NOT NULL CHECK (max_activations >= 0),
    -- A metered trial: activations are refused after this time.
    trial_ends_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- Monthly usage from `from_mbps` (inclusive) up to the next tier's start.
CREATE TABLE metered_tiers (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    from_mbps BIGINT NOT NULL CHECK (from_mbps >= 0),
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, from_mbps)
);

-- Raw samples, kept for the retention period. One per LoadMaster and time: a sample sent
-- twice (in a replayed or a re-cut batch) is stored and counted once.
CREATE TABLE usage_samples (
    license_id TEXT NOT NULL,
    sampled_at BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    bytes_in_per_second BIGINT NOT NULL,
    bytes_out_per_second BIGINT NOT NULL,
    ssl_tps BIGINT NOT NULL,
    PRIMARY KEY (license_id, sampled_at)
);
CREATE INDEX usage_samples_expiry ON usage_samples (sampled_at);
CREATE INDEX usage_samples_tenant ON usage_samples (tenant_id, sampled_at);

CREATE TABLE usage_sample_virtual_services (
    license_id TEXT NOT NULL,
    sampled_at BIGINT NOT NULL,
    name TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (license_id, sampled_at, name)
);
CREATE INDEX usage_sample_virtual_services_expiry ON usage_sample_virtual_services (sampled_at);

-- Per LoadMaster and UTC day: the peak throughput (bytes in + out per second) and the peak
-- SSL TPS, kept for billing (at least 25 months).
CREATE TABLE metered_daily (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    license_id TEXT NOT NULL,
    day TEXT NOT NULL,
    peak_bytes_per_second BIGINT NOT NULL,
    peak_at BIGINT NOT NULL,
    peak_ssl_tps BIGINT NOT NULL,
    samples BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, license_id, day)
);
CREATE INDEX metered_daily_day ON metered_daily (tenant_id, day);

-- Per LoadMaster and month: the month's peaks (the maximum of its days), so a month's usage
-- is one row per LoadMaster to sum, not one per LoadMaster and day. `metered` is the
-- license's flag when its first sample of the month arrived.
CREATE TABLE metered_monthly (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    license_id TEXT NOT NULL,
    metered BIGINT NOT NULL CHECK (metered IN (0, 1)),
    peak_bytes_per_second BIGINT NOT NULL,
    peak_at BIGINT NOT NULL,
    peak_ssl_tps BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, license_id)
);
