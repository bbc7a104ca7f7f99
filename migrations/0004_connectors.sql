-- Connectors (the agents tenants run in their networks): registration and credentials,
-- health, the per-connector command queue, idempotency keys, license checks, and Sync runs.

-- A connector created in the portal waits for its agent: the registration token (stored as
-- SHA-256) works once, until it expires; the agent gets its own credential in exchange.
ALTER TABLE connectors ADD COLUMN registration_hash TEXT;
ALTER TABLE connectors ADD COLUMN registration_expires_at BIGINT;
ALTER TABLE connectors ADD COLUMN credential_hash TEXT;
ALTER TABLE connectors ADD COLUMN registered_at BIGINT;
ALTER TABLE connectors ADD COLUMN version TEXT;
-- When it went Down (the silence sweep), cleared when it comes back.
ALTER TABLE connectors ADD COLUMN down_since BIGINT;
CREATE UNIQUE INDEX connectors_registration ON connectors (registration_hash);
CREATE UNIQUE INDEX connectors_credential ON connectors (credential_hash);
CREATE INDEX connectors_status_seen ON connectors (status, last_seen_at);

-- A blocked LoadMaster cannot take a license (001: "cannot be licensed ... at this time").
ALTER TABLE devices ADD COLUMN blocked BIGINT NOT NULL DEFAULT 0;
CREATE INDEX devices_tenant_serial ON devices (tenant_id, serial_no);

-- The LoadMaster image's licensing identifier a license type is configured for.
ALTER TABLE license_types ADD COLUMN sku TEXT NOT NULL DEFAULT 'VLM-SPLA';

-- The pool's subscription end (none: it does not end).
ALTER TABLE pools ADD COLUMN expires_at BIGINT;

-- Periodic checks relayed by connectors.
ALTER TABLE licenses ADD COLUMN last_check_at BIGINT;
ALTER TABLE licenses ADD COLUMN check_count BIGINT NOT NULL DEFAULT 0;
CREATE INDEX licenses_connector_status ON licenses (connector_id, status);
CREATE INDEX licenses_status_grace ON licenses (status, grace_period_end);
CREATE INDEX licenses_tenant_ip ON licenses (tenant_id, ip_address);
CREATE INDEX licenses_tenant_serial ON licenses (tenant_id, serial_no);

-- What the portal asks of a connector (kill, sync), waiting until the connector reads it
-- over the channel it opens and acknowledges it.
CREATE TABLE connector_commands (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('kill', 'sync')),
    payload TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    acked_at BIGINT,
    result TEXT
);
CREATE INDEX connector_commands_pending ON connector_commands (connector_id, acked_at, issued_at);

-- Every connector message that changes something, by its idempotency key, with the answer
-- it got: a replay gets the same answer and changes nothing.
CREATE TABLE connector_messages (
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (connector_id, idempotency_key)
);
CREATE INDEX connector_messages_received ON connector_messages (received_at);

-- Sync licenses: one run asks every connected connector for its LoadMasters' state.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    started_at BIGINT NOT NULL,
    deadline_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX sync_runs_tenant ON sync_runs (tenant_id, started_at);
CREATE INDEX sync_runs_open ON sync_runs (finished_at, deadline_at);

CREATE TABLE sync_run_connectors (
    run_id TEXT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    command_id TEXT NOT NULL,
    answered_at BIGINT,
    report TEXT,
    PRIMARY KEY (run_id, connector_id)
);

-- What a run found: killed here but licensed there, licensed there but unknown here,
-- a status that differs.
CREATE TABLE sync_drift (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES sync_runs(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    connector_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('kill_resent', 'unknown_here', 'status_mismatch')),
    license_id TEXT,
    serial_no TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX sync_drift_run ON sync_drift (run_id);
