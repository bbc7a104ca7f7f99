-- The order of the instance-count records within a tenant (several share a second), so the
-- daily instance check can find the last recorded count.
ALTER TABLE metered_instance_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX metered_instance_events_seq ON metered_instance_events (tenant_id, seq);
