-- Every email goes through this outbox: queued in the transaction of the change that calls
-- for it, sent by the instance's mail sender, retried with backoff when the mail server
-- refuses, and listed. A request never waits on SMTP, and a queued message survives a
-- restart. The body (which can hold a sign-in link) is cleared once the message is sent or
-- given up.
CREATE TABLE email_outbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants(id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error TEXT,
    delivered_at BIGINT
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);
CREATE INDEX email_outbox_tenant ON email_outbox (tenant_id, created_at);
