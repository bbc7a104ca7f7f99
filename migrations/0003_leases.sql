-- Leases for background sweeps: with several portal instances on one database, a sweep runs
-- on the instance holding its lease (DESIGN.md, background work).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
