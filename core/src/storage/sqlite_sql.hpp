// The SQL the SQLite store runs on every request, in one place so that the
// tests can check the query plans of exactly these statements. Parameters
// are named (:name); SQLite gives a name used twice one binding.
#pragma once

namespace invsys::sqlite_sql {

inline constexpr const char* begin_immediate = "BEGIN IMMEDIATE";
inline constexpr const char* commit = "COMMIT";
inline constexpr const char* rollback = "ROLLBACK";
inline constexpr const char* ping = "SELECT 1";

// --- resources -------------------------------------------------------------

#define INVSYS_RESOURCE_COLUMNS "id, resource_type, name, attributes, created_us"

inline constexpr const char* find_resource =
    "SELECT " INVSYS_RESOURCE_COLUMNS " FROM resources WHERE id = :id AND resource_type = :type";

// The keyset position of a resource of one type (also: does it exist).
inline constexpr const char* resource_seq =
    "SELECT seq FROM resources WHERE id = :id AND resource_type = :type";

inline constexpr const char* resource_exists = "SELECT seq FROM resources WHERE id = :id";

// seq > 0 for every row, so :after_seq = 0 starts at the beginning.
inline constexpr const char* list_resources =
    "SELECT " INVSYS_RESOURCE_COLUMNS
    " FROM resources WHERE resource_type = :type AND seq > :after_seq ORDER BY seq LIMIT :limit";

// Who else holds a name; :self is the resource being written.
inline constexpr const char* name_holder =
    "SELECT id FROM resources WHERE resource_type = :type AND name = :name AND id <> :self";

inline constexpr const char* insert_resource =
    "INSERT INTO resources (" INVSYS_RESOURCE_COLUMNS
    ") VALUES (:id, :type, :name, :attributes, :created_us)";

inline constexpr const char* update_resource =
    "UPDATE resources SET name = :name, attributes = :attributes"
    " WHERE id = :id AND resource_type = :type";

// Allocations go with it: ON DELETE CASCADE, foreign_keys=ON on every connection.
inline constexpr const char* delete_resource = "DELETE FROM resources WHERE id = :id";

#undef INVSYS_RESOURCE_COLUMNS

// --- allocations -----------------------------------------------------------

#define INVSYS_ALLOCATION_COLUMNS \
    "id, resource_id, from_us, to_us, allocation_type, description, dump, created_us"

// The overlap seek. The allocations of one resource never overlap, so
// ordered by to_us they are also ordered by from_us: the first one ending
// after :after is the only one that can overlap an interval starting at
// :after. One seek in allocations_by_end. :self excludes the allocation
// being rewritten (a fresh id on insert).
inline constexpr const char* first_ending_after =
    "SELECT id, from_us, to_us, seq FROM allocations"
    " WHERE resource_id = :resource_id AND to_us > :after AND id <> :self"
    " ORDER BY to_us LIMIT 1";

// Allocations ending strictly inside (:from, :to): each overlaps [from, to).
// Run only once a conflict is known, to list the ids (capped by :limit).
inline constexpr const char* ending_inside =
    "SELECT id FROM allocations"
    " WHERE resource_id = :resource_id AND to_us > :from AND to_us < :to AND id <> :self"
    " ORDER BY to_us LIMIT :limit";

inline constexpr const char* count_ending_inside =
    "SELECT count(*) FROM allocations"
    " WHERE resource_id = :resource_id AND to_us > :from AND to_us < :to AND id <> :self";

// Current and future allocations (those ending after :now), for delete.
inline constexpr const char* ending_after =
    "SELECT id FROM allocations WHERE resource_id = :resource_id AND to_us > :now"
    " ORDER BY to_us LIMIT :limit";

inline constexpr const char* count_ending_after =
    "SELECT count(*) FROM allocations WHERE resource_id = :resource_id AND to_us > :now";

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
    " AND (:type IS NULL OR allocation_type = :type)"
    " ORDER BY from_us, to_us, seq LIMIT :limit";

inline constexpr const char* insert_allocation =
    "INSERT INTO allocations (" INVSYS_ALLOCATION_COLUMNS
    ") VALUES (:id, :resource_id, :from_us, :to_us, :allocation_type, :description, :dump,"
    " :created_us)";

inline constexpr const char* update_allocation =
    "UPDATE allocations SET from_us = :from_us, to_us = :to_us,"
    " allocation_type = :allocation_type, description = :description, dump = :dump"
    " WHERE id = :id AND resource_id = :resource_id";

inline constexpr const char* delete_allocation =
    "DELETE FROM allocations WHERE id = :id AND resource_id = :resource_id";

#undef INVSYS_ALLOCATION_COLUMNS

}  // namespace invsys::sqlite_sql
