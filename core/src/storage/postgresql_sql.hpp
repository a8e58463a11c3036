// The SQL the PostgreSQL store runs on every request, in one place. SOCI
// turns each :name into a $n placeholder (a name used twice binds the same
// value twice) and PostgreSQL infers the parameter types from their use;
// CAST(... AS ...) rather than `::`, which SOCI's parameter scanner would
// have to tell apart from a name.
#pragma once

namespace invsys::postgresql_sql {

inline constexpr const char* ping = "SELECT 1";

// --- resources -------------------------------------------------------------

#define INVSYS_RESOURCE_COLUMNS "id, resource_type, name, attributes, created_us"

inline constexpr const char* find_resource =
    "SELECT " INVSYS_RESOURCE_COLUMNS " FROM resources WHERE id = :id AND resource_type = :type";

// The keyset position of a resource of one type (also: does it exist).
inline constexpr const char* resource_seq =
    "SELECT seq FROM resources WHERE id = :id AND resource_type = :type";

// The same, locking the row until the end of the transaction: an
// allocation insert takes a key-share lock on its resource (the foreign
// key check), so it waits for us, and we for it.
inline constexpr const char* lock_resource =
    "SELECT seq FROM resources WHERE id = :id AND resource_type = :type FOR UPDATE";

// seq > 0 for every row, so :after_seq = 0 starts at the beginning.
inline constexpr const char* list_resources =
    "SELECT " INVSYS_RESOURCE_COLUMNS
    " FROM resources WHERE resource_type = :type AND seq > :after_seq ORDER BY seq LIMIT :limit";

// Who else holds a name; :self is the resource being written.
inline constexpr const char* name_holder =
    "SELECT id FROM resources WHERE resource_type = :type AND name = :name AND id <> :self";

// Returns no row, instead of failing, when the name is taken: the caller
// then asks name_holder who has it.
inline constexpr const char* insert_resource =
    "INSERT INTO resources (" INVSYS_RESOURCE_COLUMNS
    ") VALUES (:id, :type, :name, :attributes, :created_us)"
    " ON CONFLICT (resource_type, name) DO NOTHING RETURNING seq";

// No row updated: no such resource, or the name is taken (the caller asks
// name_holder); a name taken by a concurrent writer still fails with
// unique_violation.
inline constexpr const char* update_resource =
    "UPDATE resources SET name = :name, attributes = :attributes"
    " WHERE id = :id AND resource_type = :type"
    " AND NOT EXISTS (SELECT 1 FROM resources other WHERE other.resource_type = :type"
    " AND other.name = :name AND other.id <> :id)";

// Allocations go with it: ON DELETE CASCADE.
inline constexpr const char* delete_resource = "DELETE FROM resources WHERE id = :id";

#undef INVSYS_RESOURCE_COLUMNS

// --- allocations -----------------------------------------------------------

#define INVSYS_ALLOCATION_COLUMNS \
    "id, resource_id, from_us, to_us, allocation_type, description, dump, created_us"

// The allocations of a resource overlapping [:from, :to) but :self, in
// listing order, at most :limit of them, each row with the full count.
// Through the exclusion constraint's GiST index; run only once PostgreSQL
// has refused a write with exclusion_violation.
inline constexpr const char* overlapping =
    "SELECT id, count(*) OVER () FROM allocations"
    " WHERE resource_id = :resource_id"
    " AND period && tstzrange(invsys_instant(:from), invsys_instant(:to), '[)')"
    " AND id <> :self"
    " ORDER BY from_us, to_us, seq LIMIT :limit";

// Current and future allocations (those ending after :now), for delete;
// each row with the full count.
inline constexpr const char* ending_after =
    "SELECT id, count(*) OVER () FROM allocations WHERE resource_id = :resource_id"
    " AND to_us > :now ORDER BY to_us LIMIT :limit";

// The first allocation ending after :after: for a listing window, the
// first one of the listing order that can overlap it (the allocations of a
// resource do not overlap, so end order is start order).
inline constexpr const char* first_ending_after =
    "SELECT from_us, to_us, seq FROM allocations"
    " WHERE resource_id = :resource_id AND to_us > :after ORDER BY to_us LIMIT 1";

inline constexpr const char* find_allocation =
    "SELECT " INVSYS_ALLOCATION_COLUMNS
    " FROM allocations WHERE id = :id AND resource_id = :resource_id";

// The keyset position of an allocation of one resource (also: does it exist).
inline constexpr const char* allocation_key =
    "SELECT from_us, to_us, seq FROM allocations WHERE id = :id AND resource_id = :resource_id";

// Ordered by (from_us, to_us, seq) through allocations_by_start, starting
// after the key (:after_from, :after_to, :after_seq). The window test is
// from_us < :window_to AND to_us > :window_from; with no window the open
// ends make both true for every row. :type NULL keeps every type.
inline constexpr const char* list_allocations =
    "SELECT " INVSYS_ALLOCATION_COLUMNS
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
// (resource found, rows inserted); period is generated from from_us and
// to_us.
inline constexpr const char* insert_allocation =
    "WITH r AS (SELECT id FROM resources WHERE id = :resource_id FOR NO KEY UPDATE),"
    " inserted AS (INSERT INTO allocations (" INVSYS_ALLOCATION_COLUMNS
    ") SELECT CAST(:id AS text), r.id, CAST(:from_us AS bigint), CAST(:to_us AS bigint),"
    " CAST(:allocation_type AS text), CAST(:description AS text), CAST(:dump AS text),"
    " CAST(:created_us AS bigint) FROM r"
    " ON CONFLICT ON CONSTRAINT allocations_no_overlap DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM inserted)";

// No row updated: the allocation is not one of this resource's, or the
// new period overlaps another allocation. The overlap test sees the rows
// committed before the statement began; one committed while it waited for
// the lock (only a writer that does not take it) still meets the
// exclusion constraint.
inline constexpr const char* update_allocation =
    "WITH r AS (SELECT id FROM resources WHERE id = :resource_id FOR NO KEY UPDATE)"
    " UPDATE allocations SET from_us = :from_us, to_us = :to_us,"
    " allocation_type = :allocation_type, description = :description, dump = :dump"
    " FROM r WHERE allocations.id = :id AND allocations.resource_id = r.id"
    " AND NOT EXISTS (SELECT 1 FROM allocations other WHERE other.resource_id = r.id"
    " AND other.id <> :id"
    " AND other.period && tstzrange(invsys_instant(:from_us), invsys_instant(:to_us), '[)'))";

inline constexpr const char* delete_allocation =
    "DELETE FROM allocations WHERE id = :id AND resource_id = :resource_id";

#undef INVSYS_ALLOCATION_COLUMNS

}  // namespace invsys::postgresql_sql
