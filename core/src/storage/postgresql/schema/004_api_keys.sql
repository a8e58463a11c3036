-- API keys (issue 10), version 4. Released: never edited. The secret
-- itself is never stored, only its SHA-256 (auth/credentials.hpp); a
-- revoked key keeps its row (revoked_us set) so that its id stays unique
-- and an audit can still name it. No colons outside comments.

CREATE TABLE api_keys (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('reader', 'writer', 'admin')),
    secret_hash text NOT NULL UNIQUE,
    created_us bigint NOT NULL,
    last_used_us bigint,
    revoked_us bigint);
