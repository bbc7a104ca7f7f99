-- Automatic reporting of metered usage to the vendor, and the reporting grace.
-- Per tenant with a metered contract: the Automatic Reporting settings, and the grace: it
-- counts from `grace_from` (the last successful upload, or when the countdown began), the
-- smallest warning already emailed since then, and when metered licensing stopped.
CREATE TABLE metered_reporting (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    upload BIGINT NOT NULL DEFAULT 1 CHECK (upload IN (0, 1)),
    email BIGINT NOT NULL DEFAULT 0 CHECK (email IN (0, 1)),
    bcc TEXT NOT NULL DEFAULT '',
    grace_from BIGINT NOT NULL,
    warned_at_days BIGINT,
    lapsed_at BIGINT,
    updated_at BIGINT NOT NULL
);

-- One upload per tenant and period (`YYYY-MM` or `YYYY-MM-DD`): the key the receiver sees,
-- so a retry replaces what it sent before and is never billed twice. Pending until the
-- vendor's service takes it, retried with backoff.
CREATE TABLE metered_report_uploads (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_attempt_at BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
CREATE INDEX metered_report_uploads_due ON metered_report_uploads (status, next_attempt_at);

-- The monthly usage report by email ("Send monthly usage report via email"): the last month
-- emailed, so each month goes once.
ALTER TABLE metered_reporting ADD COLUMN emailed_month TEXT;

-- A message's blind copy and its attachments (the monthly usage report's zip and PDF), kept
-- until it is sent or given up, like the body.
ALTER TABLE email_outbox ADD COLUMN bcc TEXT;
CREATE TABLE email_attachments (
    email_id TEXT NOT NULL REFERENCES email_outbox(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content_base64 TEXT NOT NULL,
    PRIMARY KEY (email_id, position)
);
