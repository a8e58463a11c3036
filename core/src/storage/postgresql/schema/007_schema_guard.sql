-- The schema guard (issue 15), version 7. Released: never edited. One row:
-- the schema version the database is at, and the lowest schema version a
-- binary must know to open it (storage/common/schema_guard.hpp). A binary
-- that knows less refuses to start instead of writing with wrong
-- assumptions; every migration run raises both to what it applied.

CREATE TABLE schema_guard (
    singleton integer PRIMARY KEY CHECK (singleton = 1),
    schema_version integer NOT NULL,
    min_binary_schema integer NOT NULL);

INSERT INTO schema_guard (singleton, schema_version, min_binary_schema) VALUES (1, 7, 7);
