-- Version 2: the blocked range. A type may declare a turnaround buffer
-- before and after each allocation (docs/api.md, "Per-type rules"); the
-- range an allocation keeps its resource from others is then
-- [blocked_from_us, blocked_to_us), which holds [from_us, to_us). The
-- exclusion constraint moves from period (the asked-for range) to blocked
-- (the blocked range), so PostgreSQL itself refuses a buffer overlap.
-- Without buffers both ranges are the same. No colons outside comments.

ALTER TABLE allocations ADD COLUMN blocked_from_us bigint;

ALTER TABLE allocations ADD COLUMN blocked_to_us bigint;

UPDATE allocations SET blocked_from_us = from_us, blocked_to_us = to_us;

ALTER TABLE allocations ALTER COLUMN blocked_from_us SET NOT NULL;

ALTER TABLE allocations ALTER COLUMN blocked_to_us SET NOT NULL;

ALTER TABLE allocations ADD CONSTRAINT allocations_blocked_covers
    CHECK (blocked_from_us <= from_us AND to_us <= blocked_to_us);

-- Dropping period drops allocations_no_overlap and
-- allocations_period_not_empty with it; both come back on blocked.
ALTER TABLE allocations DROP COLUMN period;

ALTER TABLE allocations ADD COLUMN blocked tstzrange NOT NULL GENERATED ALWAYS AS
    (tstzrange(invsys_instant(blocked_from_us), invsys_instant(blocked_to_us), '[)')) STORED;

ALTER TABLE allocations ADD CONSTRAINT allocations_blocked_not_empty CHECK (NOT isempty(blocked));

-- Same name as in version 1: the insert names it as its ON CONFLICT arbiter.
ALTER TABLE allocations ADD CONSTRAINT allocations_no_overlap
    EXCLUDE USING gist (resource_id WITH =, blocked WITH &&);

-- The seek on the blocked range (availability, free gaps), as on SQLite.
CREATE INDEX allocations_by_blocked_end ON allocations (resource_id, blocked_to_us, blocked_from_us);
