-- API keys (issue 10), version 4. Released: never edited. The secret
-- itself is never stored, only its SHA-256 (auth/credentials.hpp); a
-- revoked key keeps its row (revoked_us set) so that its id stays unique
-- and an audit can still name it.

CREATE TABLE api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'admin')),
    secret_hash TEXT NOT NULL UNIQUE,
    created_us INTEGER NOT NULL,
    last_used_us INTEGER,
    revoked_us INTEGER);
