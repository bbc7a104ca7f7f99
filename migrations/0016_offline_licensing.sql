-- Offline licensing. A license issued as signed text for a LoadMaster with no route to a
-- connector keeps a SHA-256 of the access code that LoadMaster showed: the text binds that
-- code, and a later offline update or change of owner must present it again.
ALTER TABLE licenses ADD COLUMN access_code_hash TEXT;

-- Keys this deployment makes for itself on first start and shares between its instances
-- (the Ed25519 seed that signs offline license texts). A setting may supply one instead.
CREATE TABLE deployment_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
