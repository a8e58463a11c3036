// The statements both backends run with the same text, and the column
// lists. A backend's SQL (sqlite/sql.hpp, postgresql/sql.hpp) is a struct
// deriving from common_sql that adds its own statements and says how they
// are shaped (see common/queries.hpp). Parameters are named (:name).
#pragma once

#define INVSYS_RESOURCE_COLUMNS "id, resource_type, name, attributes, created_us"
#define INVSYS_ALLOCATION_COLUMNS                                                      \
    "id, resource_id, from_us, to_us, allocation_type, description, dump, created_us," \
    " blocked_from_us, blocked_to_us"
// What reads return: the written columns and the row version (which a new
// row takes from its DEFAULT, 1).
#define INVSYS_RESOURCE_READ_COLUMNS INVSYS_RESOURCE_COLUMNS ", version"
#define INVSYS_ALLOCATION_READ_COLUMNS INVSYS_ALLOCATION_COLUMNS ", version"
#define INVSYS_IDEMPOTENCY_READ_COLUMNS \
    "fingerprint, owner, lease_until_us, status, headers, body, created_us"

namespace invsys {

// How a backend's statements are shaped, where the backends differ (see
// common/queries.hpp).
struct statement_shape {
    bool rows_carry_total;  // ending_after and overlapping: each id with the full count
    bool seek_names_self;   // first_ending_after: excludes :self, returns the id
    bool writes_report;     // insert_resource returns seq; insert_allocation (found, inserted)
};

struct common_sql {
    // The health check reads a real table: `SELECT 1` touches no file (on
    // SQLite) and no relation (on PostgreSQL).
    static constexpr const char* ping =
        "SELECT count(*) FROM (SELECT 1 FROM resources LIMIT 1) AS t";

    // --- resources -----------------------------------------------------------

    static constexpr const char* find_resource =
        "SELECT " INVSYS_RESOURCE_READ_COLUMNS
        " FROM resources WHERE id = :id AND resource_type = :type";

    // The keyset position of a resource of one type (also: does it exist).
    static constexpr const char* resource_seq =
        "SELECT seq FROM resources WHERE id = :id AND resource_type = :type";

    // seq > 0 for every row, so :after_seq = 0 starts at the beginning.
    static constexpr const char* list_resources = "SELECT " INVSYS_RESOURCE_READ_COLUMNS
                                                  " FROM resources WHERE resource_type = :type AND "
                                                  "seq > :after_seq ORDER BY seq LIMIT :limit";

    // Who else holds a name; :self is the resource being written.
    static constexpr const char* name_holder =
        "SELECT id FROM resources WHERE resource_type = :type AND name = :name AND id <> :self";

    // Allocations go with it: ON DELETE CASCADE (on SQLite, foreign_keys=ON
    // on every connection).
    static constexpr const char* delete_resource = "DELETE FROM resources WHERE id = :id";

    // --- allocations -----------------------------------------------------------

    static constexpr const char* find_allocation =
        "SELECT " INVSYS_ALLOCATION_READ_COLUMNS
        " FROM allocations WHERE id = :id AND resource_id = :resource_id";

    // The keyset position of an allocation of one resource (also: does it exist).
    static constexpr const char* allocation_key =
        "SELECT from_us, to_us, seq FROM allocations WHERE id = :id AND resource_id = :resource_id";

    static constexpr const char* delete_allocation =
        "DELETE FROM allocations WHERE id = :id AND resource_id = :resource_id";

    // --- availability ----------------------------------------------------------
    //
    // A resource is free in [:from, :to) when no blocked range overlaps it.
    // Blocked ranges of one resource never overlap, so the only one that
    // can is the first ending after :from (one seek in
    // allocations_by_blocked_end, reading the index alone): the resource is
    // free when there is none, or when it starts at or after :to. Per
    // resource that is one seek, however many allocations it has.
#define INVSYS_FREE_IN_WINDOW                                                           \
    " COALESCE((SELECT a.blocked_from_us FROM allocations a WHERE a.resource_id = r.id" \
    " AND a.blocked_to_us > :from ORDER BY a.blocked_to_us LIMIT 1),"                   \
    " CAST(:to AS bigint)) >= :to"

    // The resources of a type free in the window, oldest first, after the
    // keyset position :after_seq (0: from the start).
    static constexpr const char* available_resources =
        "SELECT " INVSYS_RESOURCE_READ_COLUMNS
        " FROM resources r"
        " WHERE r.resource_type = :type AND r.seq > :after_seq AND" INVSYS_FREE_IN_WINDOW
        " ORDER BY r.seq LIMIT :limit";

    // The same, ids and keyset positions only: "book any free one".
    static constexpr const char* available_resource_ids =
        "SELECT id, seq FROM resources r"
        " WHERE r.resource_type = :type AND r.seq > :after_seq AND" INVSYS_FREE_IN_WINDOW
        " ORDER BY r.seq LIMIT :limit";

    // Is one resource free in the window? A row (its seq) when it is.
    static constexpr const char* resource_free =
        "SELECT seq FROM resources r WHERE r.id = :id AND" INVSYS_FREE_IN_WINDOW;
#undef INVSYS_FREE_IN_WINDOW

    // The blocked ranges of a resource overlapping [:from, :to), in order,
    // at most :limit + 1 of them: those ending inside (from, to] (a range
    // scan of allocations_by_blocked_end that stops after :limit rows),
    // then the one that starts before :to and ends after it, if any (one
    // seek). Nothing after the window is read, however many allocations
    // follow it.
    static constexpr const char* blocked_in_window =
        "SELECT f, t FROM (SELECT blocked_from_us AS f, blocked_to_us AS t FROM allocations"
        " WHERE resource_id = :resource_id AND blocked_to_us > :from AND blocked_to_us <= :to"
        " ORDER BY blocked_to_us LIMIT :limit) AS inside"
        " UNION ALL SELECT f, t FROM (SELECT blocked_from_us AS f, blocked_to_us AS t"
        " FROM allocations WHERE resource_id = :resource_id AND blocked_to_us > :to"
        " ORDER BY blocked_to_us LIMIT 1) AS straddling WHERE f < :to";

    // --- the audit trail ---------------------------------------------------------

    // One entry per change, in the change's own transaction.
    static constexpr const char* insert_audit_entry =
        "INSERT INTO audit_log (id, at_us, key_id, key_name, request_id, method, route,"
        " action, entity_kind, entity_id, resource_id, before_json, after_json) VALUES"
        " (:id, :at, :key_id, :key_name, :request_id, :method, :route, :action, :kind,"
        " :entity_id, :resource_id, :before_json, :after_json)";

    // --- idempotency keys ------------------------------------------------------

    // The oldest keys past the retention, at most :limit of them: each
    // claim purges a few, so the table never needs a sweep of its own.
    static constexpr const char* purge_idempotency_keys =
        "DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key"
        " FROM idempotency_keys WHERE created_us < :cutoff ORDER BY created_us LIMIT :limit)";

    // No row inserted: the key is known (the caller reads it).
    static constexpr const char* insert_idempotency_key =
        "INSERT INTO idempotency_keys (scope, key, fingerprint, owner, lease_until_us, created_us)"
        " VALUES (:scope, :key, :fingerprint, :owner, :lease_until, :created_us)"
        " ON CONFLICT (scope, key) DO NOTHING";

    // A claim whose lease ran out (its worker was killed) passes to a retry.
    static constexpr const char* take_over_idempotency_key =
        "UPDATE idempotency_keys SET owner = :owner, lease_until_us = :lease_until"
        " WHERE scope = :scope AND key = :key AND status IS NULL";

    // The answer, in the transaction of what the request did; no row when
    // the claim is no longer this owner's.
    static constexpr const char* complete_idempotency_key =
        "UPDATE idempotency_keys SET status = :status, headers = :headers, body = :body"
        " WHERE scope = :scope AND key = :key AND owner = :owner AND status IS NULL";

    // A claim given up (its answer was a 5xx), or a remembered key past the
    // retention (:owner NULL).
    static constexpr const char* forget_idempotency_key =
        "DELETE FROM idempotency_keys WHERE scope = :scope AND key = :key"
        " AND (CAST(:owner AS text) IS NULL OR (owner = :owner AND status IS NULL))";
};

}  // namespace invsys
