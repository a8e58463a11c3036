-- Version 2: the blocked range. A type may declare a turnaround buffer
-- before and after each allocation (docs/api.md, "Per-type rules"); the
-- range an allocation keeps its resource from others is then
-- [blocked_from_us, blocked_to_us), which holds [from_us, to_us). The
-- no-overlap rule and every availability question work on the blocked
-- range; from_us and to_us stay what the client asked for. Without
-- buffers both ranges are the same.
--
-- SQLite cannot add a NOT NULL column whose value comes from other
-- columns, so the table is rebuilt (nothing references allocations).

CREATE TABLE allocations_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    from_us INTEGER NOT NULL,
    to_us INTEGER NOT NULL,
    allocation_type TEXT NOT NULL,
    description TEXT,
    dump TEXT,
    created_us INTEGER NOT NULL,
    blocked_from_us INTEGER NOT NULL,
    blocked_to_us INTEGER NOT NULL,
    CHECK (from_us < to_us),
    CHECK (blocked_from_us <= from_us AND to_us <= blocked_to_us));

INSERT INTO allocations_v2 (seq, id, resource_id, from_us, to_us, allocation_type, description,
    dump, created_us, blocked_from_us, blocked_to_us)
    SELECT seq, id, resource_id, from_us, to_us, allocation_type, description, dump, created_us,
    from_us, to_us FROM allocations;

DROP TABLE allocations;

ALTER TABLE allocations_v2 RENAME TO allocations;

-- The listing window's seek, current allocations (delete) and the
-- cascade's lookup by resource_id.
CREATE INDEX allocations_by_end ON allocations (resource_id, to_us);

-- The listing order.
CREATE INDEX allocations_by_start ON allocations (resource_id, from_us, to_us, seq);

-- The overlap seek on the blocked range: blocked ranges of one resource
-- never overlap, so ordered by blocked_to_us they are ordered by
-- blocked_from_us too, and the first one ending after an instant is the
-- only one that can overlap an interval starting there. blocked_from_us
-- rides along so that the seek (booking, availability, free gaps) reads
-- the index alone.
CREATE INDEX allocations_by_blocked_end ON allocations (resource_id, blocked_to_us, blocked_from_us);
