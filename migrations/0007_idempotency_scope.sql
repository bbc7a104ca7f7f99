-- An idempotency key names one message of one kind from one connector: the key space is
-- (connector, kind), and each key keeps a fingerprint (SHA-256) of the request it came
-- with, so the same key with a different request is refused instead of being answered with
-- the first one's answer. Keys remembered before this have no fingerprint ('').
CREATE TABLE connector_messages_v2 (
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (connector_id, kind, idempotency_key)
);
INSERT INTO connector_messages_v2
    (connector_id, kind, idempotency_key, request_hash, received_at, response)
    SELECT connector_id, kind, idempotency_key, '', received_at, response FROM connector_messages;
DROP TABLE connector_messages;
ALTER TABLE connector_messages_v2 RENAME TO connector_messages;
CREATE INDEX connector_messages_received ON connector_messages (received_at);
