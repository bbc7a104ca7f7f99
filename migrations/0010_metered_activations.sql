-- Metered activations (the Activations table): what each metered LoadMaster said about
-- itself when it activated, whether its connector has confirmed it (its first usage sample
-- arrived), and whether it was deleted (it gave its license back) or blocked (removed as
-- unconfirmed). One row per metered license, written in the activation's transaction.
CREATE TABLE metered_activations (
    license_id TEXT PRIMARY KEY REFERENCES licenses(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    mac_address TEXT,
    loadmaster_version TEXT,
    booted_at BIGINT,
    hypervisor TEXT,
    ip_address TEXT NOT NULL,
    confirmed_at BIGINT,
    deleted_at BIGINT,
    blocked_at BIGINT
);
CREATE INDEX metered_activations_tenant ON metered_activations (tenant_id);
CREATE INDEX metered_activations_unconfirmed ON metered_activations (confirmed_at, blocked_at, deleted_at);

-- Addresses blocked from taking a metered license again until someone unblocks them.
CREATE TABLE metered_blocked_addresses (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    ip_address TEXT NOT NULL,
    license_id TEXT NOT NULL,
    blocked_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, ip_address)
);

-- "Block unconfirmed activations after": 1 hour, 8 hours, 1 day, 2 days, 3 days, 7 days.
ALTER TABLE metered_contracts ADD COLUMN block_unconfirmed_after BIGINT NOT NULL DEFAULT 259200;

-- The instance count history behind the usage reports: activations, deactivations and the
-- daily sync, each with the number of active metered instances at that moment.
CREATE TABLE metered_instance_events (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('activation', 'deactivation', 'sync_discrepancy', 'sync_no_discrepancy')),
    license_type TEXT,
    instances BIGINT NOT NULL,
    previous_instances BIGINT
);
CREATE INDEX metered_instance_events_tenant ON metered_instance_events (tenant_id, at);
