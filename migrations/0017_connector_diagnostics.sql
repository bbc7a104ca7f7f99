-- Connector diagnostics: an Owner or Admin asks (requested_at), the agent runs its network
-- checks at its next heartbeat and sends the results, kept as JSON with when they arrived.
ALTER TABLE connectors ADD COLUMN diagnostics_requested_at BIGINT;
ALTER TABLE connectors ADD COLUMN diagnostics_at BIGINT;
ALTER TABLE connectors ADD COLUMN diagnostics TEXT;
