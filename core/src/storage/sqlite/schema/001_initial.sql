-- The SQLite schema, version 1. Released: never edited; a change is a new
-- file (002_<what>.sql). Each statement is run as written, its white space
-- folded to single spaces and these comments left out.

CREATE TABLE resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    resource_type TEXT NOT NULL,
    name TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    UNIQUE (resource_type, name));

-- Listing one type in creation order: the rowid (seq) ends every SQLite
-- index, so this one is ordered by seq per type.
CREATE INDEX resources_by_type ON resources (resource_type);

CREATE TABLE allocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    allocation_type TEXT NOT NULL,
    description TEXT,
    dump TEXT,
    created_us INTEGER NOT NULL,
    CHECK (from_us < to_us));

-- The overlap seek (and the cascade's lookup by resource_id).
CREATE INDEX allocations_by_end ON allocations (resource_id, to_us);

-- The listing order; seq is spelled out so the order does not depend on
-- the rowid that SQLite appends anyway.
CREATE INDEX allocations_by_start ON allocations (resource_id, from_us, to_us, seq);
