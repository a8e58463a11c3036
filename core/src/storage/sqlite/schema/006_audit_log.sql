-- The audit trail (issue 15), version 6. Released: never edited. One row
-- per change, written in the transaction of the change itself
-- (audit/audit.hpp): who (the key's id and name, never its secret), which
-- request (its id, method and route pattern), what (entity kind and id,
-- the resource it belongs to) and the row before and after, as the API
-- shows it (JSON text; NULL before a create and after a delete). seq
-- orders the trail; the listing pages newest first on it.

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at_us INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    key_name TEXT NOT NULL,
    request_id TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_kind TEXT NOT NULL CHECK (entity_kind IN ('resource', 'allocation', 'key')),
    entity_id TEXT NOT NULL,
    resource_id TEXT,
    before_json TEXT,
    after_json TEXT);

-- "The history of this resource / allocation": one index range each.
CREATE INDEX audit_log_by_resource ON audit_log (resource_id, seq);
CREATE INDEX audit_log_by_entity ON audit_log (entity_id, seq);
-- Retention prunes the oldest rows by time.
CREATE INDEX audit_log_by_time ON audit_log (at_us);
