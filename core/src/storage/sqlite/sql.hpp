// The SQL the SQLite store runs on every request, beyond common_sql's, in
// one place so that the tests can check the query plans of exactly these
// statements. SQLite gives a name used twice one binding.
#pragma once

#include "storage/common/sql.hpp"

namespace invsys {

struct sqlite_sql : common_sql {
    // rows_carry_total, seek_names_self, writes_report (see statement_shape)
    static constexpr statement_shape shape{false, true, false};

    // SOCI's begin() sends a deferred BEGIN, which fails at the first
    // write without waiting when it meets another writer.
    static constexpr const char* begin_immediate = "BEGIN IMMEDIATE";
    static constexpr const char* commit = "COMMIT";
    static constexpr const char* rollback = "ROLLBACK";
    // A member of a commit group (commit_groups.hpp) writes inside one of
    // these, so that its failure undoes its own writes only. One member
    // writes at a time, so one name does.
    static constexpr const char* savepoint = "SAVEPOINT invsys_group_member";
    static constexpr const char* release_savepoint = "RELEASE invsys_group_member";
    static constexpr const char* rollback_to_savepoint = "ROLLBACK TO invsys_group_member";

    // --- resources -----------------------------------------------------------

    // Writes are serialised by the write lock: a plain read holds enough.
    static constexpr const char* lock_resource = resource_seq;

    static constexpr const char* resource_exists = "SELECT seq FROM resources WHERE id = :id";

    // The rows a read-merge-write changes, read under the write lock.
    static constexpr const char* find_resource_for_update = find_resource;
    static constexpr const char* lock_allocations_of = resource_exists;
    static constexpr const char* find_allocation_for_update = find_allocation;

    static constexpr const char* insert_resource =
        "INSERT INTO resources (" INVSYS_RESOURCE_COLUMNS
        ") VALUES (:id, :type, :name, :attributes, :created_us)";

    static constexpr const char* update_resource =
        "UPDATE resources SET name = :name, attributes = :attributes, version = version + 1"
        " WHERE id = :id AND resource_type = :type";

    // --- allocations -----------------------------------------------------------

    // The first allocation ending after :after: for a listing window, the
    // first one of the listing order that can overlap it (the allocations
    // of a resource do not overlap, so end order is start order). One seek
    // in allocations_by_end. :self excludes an allocation (none: '').
    static constexpr const char* first_ending_after =
        "SELECT id, from_us, to_us, seq FROM allocations"
        " WHERE resource_id = :resource_id AND to_us > :after AND id <> :self"
        " ORDER BY to_us LIMIT 1";

    // The overlap seek, on the blocked range. The blocked ranges of one
    // resource never overlap, so ordered by blocked_to_us they are also
    // ordered by blocked_from_us: the first one ending after :after is the
    // only one that can overlap an interval starting at :after. One seek in
    // allocations_by_blocked_end. :self excludes the allocation being
    // rewritten (a fresh id on insert).
    static constexpr const char* first_blocked_ending_after =
        "SELECT id, blocked_from_us FROM allocations"
        " WHERE resource_id = :resource_id AND blocked_to_us > :after AND id <> :self"
        " ORDER BY blocked_to_us LIMIT 1";

    // Blocked ranges ending strictly inside (:from, :to): each overlaps
    // [from, to). Run only once a conflict is known, to list the ids
    // (capped by :limit).
    static constexpr const char* ending_inside =
        "SELECT id FROM allocations WHERE resource_id = :resource_id"
        " AND blocked_to_us > :from AND blocked_to_us < :to AND id <> :self"
        " ORDER BY blocked_to_us LIMIT :limit";

    static constexpr const char* count_ending_inside =
        "SELECT count(*) FROM allocations WHERE resource_id = :resource_id"
        " AND blocked_to_us > :from AND blocked_to_us < :to AND id <> :self";

    // Current and future allocations (those ending after :now), for delete.
    static constexpr const char* ending_after =
        "SELECT id FROM allocations WHERE resource_id = :resource_id AND to_us > :now"
        " ORDER BY to_us LIMIT :limit";

    static constexpr const char* count_ending_after =
        "SELECT count(*) FROM allocations WHERE resource_id = :resource_id AND to_us > :now";

    // Ordered by (from_us, to_us, seq) through allocations_by_start, starting
    // after the key (:after_from, :after_to, :after_seq). The window test is
    // from_us < :window_to AND to_us > :window_from; with no window the open
    // ends make both true for every row. :type NULL keeps every type.
    static constexpr const char* list_allocations =
        "SELECT " INVSYS_ALLOCATION_READ_COLUMNS
        " FROM allocations WHERE resource_id = :resource_id"
        " AND (from_us, to_us, seq) > (:after_from, :after_to, :after_seq)"
        " AND from_us < :window_to AND to_us > :window_from"
        " AND (:type IS NULL OR allocation_type = :type)"
        " ORDER BY from_us, to_us, seq LIMIT :limit";

    static constexpr const char* insert_allocation =
        "INSERT INTO allocations (" INVSYS_ALLOCATION_COLUMNS
        ") VALUES (:id, :resource_id, :from_us, :to_us, :allocation_type, :description, :dump,"
        " :created_us, :blocked_from_us, :blocked_to_us)";

    static constexpr const char* update_allocation =
        "UPDATE allocations SET from_us = :from_us, to_us = :to_us,"
        " allocation_type = :allocation_type, description = :description, dump = :dump,"
        " blocked_from_us = :blocked_from_us, blocked_to_us = :blocked_to_us,"
        " version = version + 1 WHERE id = :id AND resource_id = :resource_id";

    // --- idempotency keys (common_sql's, and) ---------------------------------

    static constexpr const char* find_idempotency_key =
        "SELECT " INVSYS_IDEMPOTENCY_READ_COLUMNS
        " FROM idempotency_keys WHERE scope = :scope AND key = :key";

    // --- migrations (common/migrations.hpp) ----------------------------------

    static constexpr const char* create_version_table =
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_us INTEGER NOT NULL)";
};

}  // namespace invsys
