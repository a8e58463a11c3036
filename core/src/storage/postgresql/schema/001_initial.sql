-- The PostgreSQL schema, version 1. Released: never edited; a change is a
-- new file (002_<what>.sql). Each statement is run as written, its white
-- space folded to single spaces and these comments left out. No colons
-- outside comments: SOCI would read a parameter.

-- The GiST operator class for `resource_id WITH =`. Trusted since
-- PostgreSQL 13: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Microseconds since the epoch as a timestamptz, exactly (an interval
-- product goes through a double: split into whole days and the
-- microseconds of a day, both exact), computed on `timestamp` so that the
-- session's time zone cannot matter, which is what makes it immutable. The
-- open ends (the smallest and largest bigint) are NULL: an unbounded range
-- end, not the timestamp 'infinity' (upper_inf() is false for that).
CREATE FUNCTION invsys_instant(us bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN us = -9223372036854775808 OR us = 9223372036854775807 THEN NULL
    ELSE (timestamp 'epoch' + (us / 86400000000) * interval '1 day'
    + (us % 86400000000) * interval '1 microsecond') AT TIME ZONE 'UTC' END $$;

-- attributes is text, not jsonb: it keeps the canonical JSON text byte for
-- byte, as the API returns it.
CREATE TABLE resources (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    resource_type text NOT NULL,
    name text NOT NULL,
    attributes text NOT NULL,
    created_us bigint NOT NULL,
    UNIQUE (resource_type, name));

-- Listing one type in creation order.
CREATE INDEX resources_by_type ON resources (resource_type, seq);

-- from_us and to_us are what the API reads and writes, exact to the
-- microsecond; period is derived from them and carries the invariant:
-- PostgreSQL itself refuses two overlapping periods of one resource,
-- whoever writes the rows. A NULL or empty range would never conflict,
-- hence NOT NULL and the isempty check.
CREATE TABLE allocations (
    seq bigserial PRIMARY KEY,
    id text NOT NULL UNIQUE,
    resource_id text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    from_us bigint NOT NULL,
    to_us bigint NOT NULL,
    period tstzrange NOT NULL GENERATED ALWAYS AS
    (tstzrange(invsys_instant(from_us), invsys_instant(to_us), '[)')) STORED,
    allocation_type text NOT NULL,
    description text,
    dump text,
    created_us bigint NOT NULL,
    CONSTRAINT allocations_ordered CHECK (from_us < to_us),
    CONSTRAINT allocations_period_not_empty CHECK (NOT isempty(period)),
    CONSTRAINT allocations_no_overlap
    EXCLUDE USING gist (resource_id WITH =, period WITH &&));

-- Current allocations (delete), the listing window's seek and the
-- cascade's lookup by resource_id.
CREATE INDEX allocations_by_end ON allocations (resource_id, to_us);

-- The listing order.
CREATE INDEX allocations_by_start ON allocations (resource_id, from_us, to_us, seq);
