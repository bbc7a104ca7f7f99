-- Usage and billing (004): entitlements and add-ons, Sync entitlements, Virtual Services and
-- the applications they are mapped to, communication channels, limit crossings and the
-- webhook outbox.

-- What the tenant is entitled to. The pool's capacity and LoadMaster limit stay in `pools`
-- (what activation checks); this holds the rest of the subscription.
CREATE TABLE entitlements (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    owner_name TEXT NOT NULL DEFAULT '',
    progress_id TEXT NOT NULL DEFAULT '',
    order_id TEXT NOT NULL DEFAULT '',
    plan TEXT NOT NULL DEFAULT 'LoadMaster 360 Pooled',
    pooled BIGINT NOT NULL DEFAULT 1 CHECK (pooled IN (0, 1)),
    base_assets BIGINT NOT NULL DEFAULT 0 CHECK (base_assets >= 0),
    virtual_service_limit BIGINT NOT NULL DEFAULT 15,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'trial', 'suspended', 'expired')),
    activated_at BIGINT,
    bill_at BIGINT,
    next_bill_at BIGINT,
    -- The last Sync entitlements that completed (Last refreshed on Usage and billing).
    refreshed_at BIGINT,
    updated_at BIGINT NOT NULL
);
INSERT INTO entitlements (tenant_id, activated_at, updated_at)
    SELECT id, created_at, created_at FROM tenants;

CREATE TABLE entitlement_add_ons (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    description TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 0),
    status TEXT NOT NULL CHECK (status IN ('active', 'trial', 'suspended', 'expired')),
    activated_at BIGINT,
    bill_at BIGINT
);
CREATE INDEX entitlement_add_ons_tenant ON entitlement_add_ons (tenant_id, position);

-- Each Sync entitlements: running, then done (with what changed, as JSON) or failed.
CREATE TABLE entitlement_syncs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- The tenant's runs in the order they started (several can start within a second).
    seq BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('operator', 'upstream')),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error_code TEXT,
    error_message TEXT,
    changes TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX entitlement_syncs_tenant_seq ON entitlement_syncs (tenant_id, seq);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX applications_tenant_name ON applications (tenant_id, name);

-- Virtual Services on the tenant's LoadMasters, as their connectors report them. A
-- LoadMaster leaving the inventory (Kill License, removal) takes its Virtual Services out of
-- their applications.
CREATE TABLE virtual_services (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    application_id TEXT REFERENCES applications(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX virtual_services_device_address ON virtual_services (device_id, address);
CREATE INDEX virtual_services_tenant_application ON virtual_services (tenant_id, application_id);

-- The tenant's communication channels. Recipients are one address per line. The webhook's
-- signing secret is kept as is: the portal signs with it.
CREATE TABLE notification_channels (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    email_recipients TEXT NOT NULL DEFAULT '',
    webhook_url TEXT,
    webhook_secret TEXT,
    updated_at BIGINT NOT NULL
);

-- Whether each limit is reached now: a message goes out when this flips to 1, and again
-- only after it went back to 0.
CREATE TABLE limit_states (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    reached BIGINT NOT NULL CHECK (reached IN (0, 1)),
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

-- Webhook messages waiting, delivered or given up on (retried with backoff).
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error TEXT,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at);
