-- The SQLite schema, version 5: the database-level overlap guard (issue 11).
-- Released: never edited; a change is a new file.
--
-- PostgreSQL refuses an overlapping allocation whoever writes it (its
-- exclusion constraint, postgresql/schema/001). These two triggers do the
-- same on SQLite, for writers other than invsys (an `sqlite3` shell, a
-- script, a restore): an INSERT or UPDATE that would make two allocations
-- of one resource overlap fails with SQLITE_CONSTRAINT and the message
-- below, which the store classifies as an overlap (409).
--
-- THE OVERLAP CONDITION, in one place: an allocation keeps its resource
-- from others over its blocked range [blocked_from_us, blocked_to_us)
-- (schema version 2: the asked-for range plus the type's turnaround
-- buffers). Like the store's own check (sqlite/store.cpp, refuse_overlap)
-- it is one seek in allocations_by_blocked_end: the stored blocked ranges
-- of a resource never overlap, so ordered by blocked_to_us they are also
-- ordered by blocked_from_us, and the first one ending after the new start
-- is the only one that can overlap. The start-up check
-- (sqlite/overlap_report.cpp) reports rows that overlap already (left by a
-- writer before this guard), on which that induction does not hold.
--
-- Each trigger body is one statement; the migration runner keeps a
-- trigger's BEGIN ... END together (common/migrations.cpp).

CREATE TRIGGER allocations_refuse_overlapping_insert
BEFORE INSERT ON allocations
WHEN (SELECT blocked_from_us FROM allocations
      WHERE resource_id = NEW.resource_id AND blocked_to_us > NEW.blocked_from_us
      ORDER BY blocked_to_us LIMIT 1) < NEW.blocked_to_us
BEGIN
    SELECT RAISE(ABORT, 'allocation overlaps an existing allocation');
END;

CREATE TRIGGER allocations_refuse_overlapping_update
BEFORE UPDATE OF resource_id, blocked_from_us, blocked_to_us ON allocations
WHEN (SELECT blocked_from_us FROM allocations
      WHERE resource_id = NEW.resource_id AND blocked_to_us > NEW.blocked_from_us
        AND seq <> OLD.seq
      ORDER BY blocked_to_us LIMIT 1) < NEW.blocked_to_us
BEGIN
    SELECT RAISE(ABORT, 'allocation overlaps an existing allocation');
END;
