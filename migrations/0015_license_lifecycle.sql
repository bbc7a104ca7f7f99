-- The license lifecycle: the vendor's orders, license kinds with terms, and subscriptions.

-- The trial license's type: the largest Virtual LoadMaster.
INSERT INTO license_types (id, name, bandwidth_mbps, ssl_tps) VALUES ('vlm-max', 'VLM-MAX', 10000, 10000)
    ON CONFLICT (id) DO NOTHING;

-- An order the operator recorded for a tenant: its support tier and when support ends, and
-- whether it is a Service Provider License Agreement (SPLA: its licenses never transfer).
-- The Order ID is the vendor's; it is unique within a tenant.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    order_id TEXT NOT NULL,
    support_tier TEXT NOT NULL CHECK (support_tier IN ('standard', 'enterprise', 'enterprise_plus')),
    support_ends_at BIGINT NOT NULL,
    spla BIGINT NOT NULL DEFAULT 0 CHECK (spla IN (0, 1)),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, order_id)
);

-- How many permanent licenses of each type an order bought, and when their term ends
-- (NULL: never).
CREATE TABLE order_lines (
    order_ref TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    license_type_id TEXT NOT NULL REFERENCES license_types(id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    license_ends_at BIGINT,
    PRIMARY KEY (order_ref, license_type_id)
);

-- Every license has a kind; temporary and trial licenses (and orders with an end) a term.
-- Licenses that existed before are pooled, or metered where they were taken under a
-- metered contract.
ALTER TABLE licenses ADD COLUMN kind TEXT NOT NULL DEFAULT 'pooled'
    CHECK (kind IN ('pooled', 'permanent', 'temporary', 'trial', 'metered'));
ALTER TABLE licenses ADD COLUMN expires_at BIGINT;
ALTER TABLE licenses ADD COLUMN order_ref TEXT REFERENCES orders(id) ON DELETE SET NULL;
UPDATE licenses SET kind = 'metered' WHERE metered = 1;
-- The term sweep's search: licenses holding capacity whose term has ended.
CREATE INDEX licenses_term_end ON licenses (expires_at, status);
CREATE INDEX licenses_order ON licenses (order_ref, license_type_id, status);

-- A license's subscriptions (support, then its features), each with its expiration date and
-- the last warning (30 or 7 days ahead) its Owners were sent for that date.
CREATE TABLE license_subscriptions (
    license_id TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    warned_days BIGINT,
    PRIMARY KEY (license_id, name)
);
CREATE INDEX license_subscriptions_expiry ON license_subscriptions (expires_at);

-- A LoadMaster's GEO partners (a LoadMaster may have several). `devices.geo_partner_id` keeps
-- the first of them, which is what asset counting reads.
CREATE TABLE device_geo_partners (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    partner_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    PRIMARY KEY (device_id, partner_id)
);
INSERT INTO device_geo_partners (device_id, partner_id, tenant_id)
    SELECT id, geo_partner_id, tenant_id FROM devices WHERE geo_partner_id IS NOT NULL;
