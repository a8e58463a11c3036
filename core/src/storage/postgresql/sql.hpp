// The SQL the PostgreSQL store runs on every request, beyond common_sql's,
// in one place. SOCI turns each :name into a $n placeholder (a name used
// twice binds the same value twice) and PostgreSQL infers the parameter
// types from their use; CAST(... AS ...) rather than `::`, which SOCI's
// parameter scanner would have to tell apart from a name.
#pragma once

#include <cstdint>

#include "storage/common/sql.hpp"

namespace invsys {

struct postgresql_sql : common_sql {
    // rows_carry_total, seek_names_self, writes_report (see statement_shape)
    static constexpr statement_shape shape{true, false, true};

    // --- resources -----------------------------------------------------------

    // resource_seq, locking the row until the end of the transaction: an
    // allocation insert takes a key-share lock on its resource (the foreign
    // key check), so it waits for us, and we for it.
    static constexpr const char* lock_resource =
        "SELECT seq FROM resources WHERE id = :id AND resource_type = :type FOR UPDATE";

    // The rows a read-merge-write changes, locked until COMMIT: the
    // resource (FOR UPDATE: the write may change its name, a unique key),
    // or an allocation after its resource (FOR NO KEY UPDATE, as the
    // allocation writers take it: the same order as theirs and as delete's).
    static constexpr const char* find_resource_for_update =
        "SELECT " INVSYS_RESOURCE_READ_COLUMNS
        " FROM resources WHERE id = :id AND resource_type = :type FOR UPDATE";
    static constexpr const char* lock_allocations_of =
        "SELECT seq FROM resources WHERE id = :id FOR NO KEY UPDATE";
    static constexpr const char* find_allocation_for_update =
        "SELECT " INVSYS_ALLOCATION_READ_COLUMNS
        " FROM allocations WHERE id = :id AND resource_id = :resource_id FOR UPDATE";

    // Returns no row, instead of failing, when the name is taken: the caller
    // then asks name_holder who has it.
    static constexpr const char* insert_resource =
        "INSERT INTO resources (" INVSYS_RESOURCE_COLUMNS
        ") VALUES (:id, :type, :name, :attributes, :created_us)"
        " ON CONFLICT (resource_type, name) DO NOTHING RETURNING seq";

    // No row updated: no such resource, or the name is taken (the caller asks
    // name_holder); a name taken by a concurrent writer still fails with
    // unique_violation.
    static constexpr const char* update_resource =
        "UPDATE resources SET name = :name, attributes = :attributes, version = version + 1"
        " WHERE id = :id AND resource_type = :type"
        " AND NOT EXISTS (SELECT 1 FROM resources other WHERE other.resource_type = :type"
        " AND other.name = :name AND other.id <> :id)";

    // --- allocations -----------------------------------------------------------

    // The allocations of a resource whose blocked range overlaps [:from,
    // :to), but :self, in listing order, at most :limit of them, each row
    // with the full count. Through the exclusion constraint's GiST index;
    // run only once PostgreSQL has refused a write with exclusion_violation.
    static constexpr const char* overlapping =
        "SELECT id, count(*) OVER () FROM allocations"
        " WHERE resource_id = :resource_id"
        " AND blocked && tstzrange(invsys_instant(:from), invsys_instant(:to), '[)')"
        " AND id <> :self"
        " ORDER BY from_us, to_us, seq LIMIT :limit";

    // Current and future allocations (those ending after :now), for delete;
    // each row with the full count.
    static constexpr const char* ending_after =
        "SELECT id, count(*) OVER () FROM allocations WHERE resource_id = :resource_id"
        " AND to_us > :now ORDER BY to_us LIMIT :limit";

    // The first allocation ending after :after: for a listing window, the
    // first one of the listing order that can overlap it (the allocations of a
    // resource do not overlap, so end order is start order).
    static constexpr const char* first_ending_after =
        "SELECT from_us, to_us, seq FROM allocations"
        " WHERE resource_id = :resource_id AND to_us > :after ORDER BY to_us LIMIT 1";

    // Ordered by (from_us, to_us, seq) through allocations_by_start, starting
    // after the key (:after_from, :after_to, :after_seq). The window test is
    // from_us < :window_to AND to_us > :window_from; with no window the open
    // ends make both true for every row. :type NULL keeps every type.
    static constexpr const char* list_allocations =
        "SELECT " INVSYS_ALLOCATION_READ_COLUMNS
        " FROM allocations WHERE resource_id = :resource_id"
        " AND (from_us, to_us, seq) > (:after_from, :after_to, :after_seq)"
        " AND from_us < :window_to AND to_us > :window_from"
        " AND (CAST(:type AS text) IS NULL OR allocation_type = :type)"
        " ORDER BY from_us, to_us, seq LIMIT :limit";

    // The allocation writers first lock their resource's row (FOR NO KEY
    // UPDATE: it does not block foreign key checks, which take KEY SHARE), so
    // the writers of one resource take turns. The exclusion constraint alone
    // refuses every overlap too, but concurrent writers that each wait for the
    // other's uncommitted row deadlock, and PostgreSQL breaks a deadlock only
    // after deadlock_timeout (1 s): sixteen racing bookings could take many
    // seconds. Taking turns, a writer meets only committed rows.
    //
    // An expected refusal is a result, not an error: SOCI 4.0.3 leaks the
    // parameter buffers of a statement whose execution fails. The insert
    // names the exclusion constraint as its ON CONFLICT arbiter and reports
    // (resource found, rows inserted); blocked is generated from
    // blocked_from_us and blocked_to_us.
    static constexpr const char* insert_allocation =
        "WITH r AS (SELECT id FROM resources WHERE id = :resource_id FOR NO KEY UPDATE),"
        " inserted AS (INSERT INTO allocations (" INVSYS_ALLOCATION_COLUMNS
        ") SELECT CAST(:id AS text), r.id, CAST(:from_us AS bigint), CAST(:to_us AS bigint),"
        " CAST(:allocation_type AS text), CAST(:description AS text), CAST(:dump AS text),"
        " CAST(:created_us AS bigint), CAST(:blocked_from_us AS bigint),"
        " CAST(:blocked_to_us AS bigint) FROM r"
        " ON CONFLICT ON CONSTRAINT allocations_no_overlap DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM inserted)";

    // No row updated: the allocation is not one of this resource's, or the
    // new blocked range overlaps another allocation. The overlap test sees the rows
    // committed before the statement began; one committed while it waited for
    // the lock (only a writer that does not take it) still meets the
    // exclusion constraint.
    static constexpr const char* update_allocation =
        "WITH r AS (SELECT id FROM resources WHERE id = :resource_id FOR NO KEY UPDATE)"
        " UPDATE allocations SET from_us = :from_us, to_us = :to_us,"
        " allocation_type = :allocation_type, description = :description, dump = :dump,"
        " blocked_from_us = :blocked_from_us, blocked_to_us = :blocked_to_us,"
        " version = allocations.version + 1"
        " FROM r WHERE allocations.id = :id AND allocations.resource_id = r.id"
        " AND NOT EXISTS (SELECT 1 FROM allocations other WHERE other.resource_id = r.id"
        " AND other.id <> :id AND other.blocked && tstzrange(invsys_instant(:blocked_from_us),"
        " invsys_instant(:blocked_to_us), '[)'))";

    // --- idempotency keys (common_sql's, and) ---------------------------------

    // Locked until COMMIT: a concurrent claim of the same key waits.
    static constexpr const char* find_idempotency_key =
        "SELECT " INVSYS_IDEMPOTENCY_READ_COLUMNS
        " FROM idempotency_keys WHERE scope = :scope AND key = :key FOR UPDATE";

    // --- migrations (common/migrations.hpp) ----------------------------------

    static constexpr const char* create_version_table =
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version integer PRIMARY KEY, applied_us bigint NOT NULL)";

    // Held by every invsys migration until its COMMIT.
    static constexpr const char* lock_migrations = "SELECT pg_advisory_xact_lock(:key)";
};

}  // namespace invsys
