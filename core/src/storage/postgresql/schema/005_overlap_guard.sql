-- The PostgreSQL schema, version 5: the database-level overlap guard
-- (issue 11). Released: never edited; a change is a new file.
--
-- Nothing to add on PostgreSQL: the exclusion constraint of version 1
-- (allocations_no_overlap, EXCLUDE USING gist) already refuses an
-- overlapping allocation whoever writes it. This file keeps the two
-- backends' versions in step; SQLite's version 5 adds the triggers that do
-- the same there.

-- Its one statement says so where a database administrator looks.
COMMENT ON CONSTRAINT allocations_no_overlap ON allocations IS
    'The overlap guard: no two allocations of one resource overlap, whoever writes them (SQLite: the triggers of its schema version 5).';
