-- The audit trail (issue 15), version 6. Released: never edited. One row
-- per change, written in the transaction of the change itself
-- (audit/audit.hpp): who (the key's id and name, never its secret), which
-- request (its id, method and route pattern), what (entity kind and id,
-- the resource it belongs to) and the row before and after, as the API
-- shows it (JSON text; NULL before a create and after a delete). seq
-- orders the trail; the listing pages newest first on it. No colons
-- outside comments.

CREATE TABLE audit_log (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    at_us bigint NOT NULL,
    key_id text NOT NULL,
    key_name text NOT NULL,
    request_id text NOT NULL,
    method text NOT NULL,
    route text NOT NULL,
    action text NOT NULL,
    entity_kind text NOT NULL CHECK (entity_kind IN ('resource', 'allocation', 'key')),
    entity_id text NOT NULL,
    resource_id text,
    before_json text,
    after_json text);

CREATE INDEX audit_log_by_resource ON audit_log (resource_id, seq);
CREATE INDEX audit_log_by_entity ON audit_log (entity_id, seq);
CREATE INDEX audit_log_by_time ON audit_log (at_us);
