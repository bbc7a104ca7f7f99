-- Bandpool's license pool. Portable SQL that SQLite and PostgreSQL both run: times are Unix seconds UTC,
-- days are 'YYYY-MM-DD' text (UTC), booleans are 0/1 integers, ids are UUID text.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE license_types (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    bandwidth_mbps BIGINT NOT NULL CHECK (bandwidth_mbps > 0),
    ssl_tps BIGINT NOT NULL CHECK (ssl_tps >= 0)
);

CREATE TABLE pools (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    max_capacity_mbps BIGINT NOT NULL CHECK (max_capacity_mbps >= 0),
    loadmaster_limit BIGINT NOT NULL CHECK (loadmaster_limit >= 0),
    last_refreshed_at BIGINT
);

CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    ip_address TEXT,
    status TEXT NOT NULL CHECK (status IN ('up', 'down')),
    last_seen_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX connectors_tenant ON connectors (tenant_id);

-- The LoadMaster inventory. HA pairs and GEO partners point at each other.
CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    serial_no TEXT NOT NULL,
    connector_id TEXT REFERENCES connectors(id) ON DELETE SET NULL,
    ha_partner_id TEXT REFERENCES devices(id) ON DELETE SET NULL,
    geo_partner_id TEXT REFERENCES devices(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id);

CREATE TABLE licenses (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id TEXT REFERENCES devices(id) ON DELETE SET NULL,
    device_name TEXT,
    ip_address TEXT,
    serial_no TEXT NOT NULL,
    license_type_id TEXT NOT NULL REFERENCES license_types(id),
    license_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'grace_period', 'expired', 'killed')),
    bandwidth_mbps BIGINT NOT NULL CHECK (bandwidth_mbps > 0),
    ssl_tps BIGINT NOT NULL,
    grace_period_end BIGINT,
    activated_at BIGINT NOT NULL,
    recovered_at BIGINT,
    issued_through_portal BIGINT NOT NULL DEFAULT 0 CHECK (issued_through_portal IN (0, 1)),
    connector_id TEXT REFERENCES connectors(id) ON DELETE SET NULL
);
CREATE INDEX licenses_tenant_status ON licenses (tenant_id, status);
CREATE INDEX licenses_tenant_device_name ON licenses (tenant_id, device_name);
CREATE INDEX licenses_tenant_bandwidth ON licenses (tenant_id, bandwidth_mbps);
CREATE INDEX licenses_tenant_activated ON licenses (tenant_id, activated_at);

-- Every status change of a license, written in the same transaction as the change.
CREATE TABLE license_history (
    id TEXT PRIMARY KEY,
    license_id TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX license_history_license ON license_history (license_id, at);

-- The allocation charts' source: per tenant and UTC day on which the allocation changed,
-- the day's peak and its closing allocation, kept in the same transaction as each change.
CREATE TABLE allocation_daily (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    peak_mbps BIGINT NOT NULL,
    peak_at BIGINT NOT NULL,
    closing_mbps BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
