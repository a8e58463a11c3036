-- Row versions (the strong ETag of each resource and allocation) and the
-- remembered Idempotency-Keys. Released: never edited.

-- 1 when created, one more on each change: an ETag names a version, not a
-- hash of the JSON.
ALTER TABLE resources ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

ALTER TABLE allocations ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- One row per (scope, key): scope is the API key's id once keys exist
-- ('' until then). fingerprint is the SHA-256 (hex) of the request's
-- method, path and canonical body. While the request is in flight, status
-- is NULL and owner and lease_until_us say who runs it and until when a
-- retry must wait (a killed worker's claim expires); once answered,
-- status, headers and body hold the answer, written in the transaction
-- that made what the request created.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease_until_us INTEGER NOT NULL,
    status INTEGER,
    headers TEXT,
    body TEXT,
    created_us INTEGER NOT NULL,
    PRIMARY KEY (scope, key));

-- The purge of keys older than the retention, a few at a time.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_us);
