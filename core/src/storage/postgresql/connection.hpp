// One PostgreSQL connection of the store, with its prepared statements.
// Used by one thread at a time (the pool hands it out).
#pragma once

#include <string>

#include "storage/common/failure.hpp"
#include "storage/common/queries.hpp"
#include "storage/postgresql/sql.hpp"

struct pg_conn;

namespace invsys {

namespace postgresql_statements {
namespace q = queries;
using S = postgresql_sql;
using cache = q::cache<
    q::ping<S>, q::find_resource<S>, q::resource_seq<S>, q::lock_resource<S>, q::list_resources<S>,
    q::name_holder<S>, q::insert_resource<S>, q::update_resource<S>, q::delete_resource<S>,
    q::overlapping<S>, q::ending_after<S>, q::first_ending_after<S>, q::find_allocation<S>,
    q::allocation_key<S>, q::list_allocations<S>, q::insert_allocation<S>, q::update_allocation<S>,
    q::delete_allocation<S>, q::find_resource_for_update<S>, q::lock_allocations_of<S>,
    q::find_allocation_for_update<S>, q::purge_idempotency_keys<S>, q::insert_idempotency_key<S>,
    q::find_idempotency_key<S>, q::take_over_idempotency_key<S>, q::complete_idempotency_key<S>,
    q::forget_idempotency_key<S>, q::available_resources<S>, q::available_resource_ids<S>,
    q::resource_free<S>, q::blocked_in_window<S>, q::insert_audit_entry<S>>;
}  // namespace postgresql_statements

class postgresql_connection : public queries::connection_base<postgresql_statements::cache> {
  public:
    // Connects with the libpq connection string or URI `conninfo` and sets
    // lock_timeout to `lock_timeout_ms` (a write waiting longer for a row
    // lock fails with lock_not_available rather than hang) and
    // statement_timeout to `statement_timeout_ms` (0: the server's).
    // Throws std::runtime_error (soci_error included) when it cannot.
    postgresql_connection(const std::string& conninfo, unsigned lock_timeout_ms,
                          unsigned statement_timeout_ms);

    // The connection's socket (for stall_guard), -1 when there is none.
    int socket() const noexcept;

    // True once libpq has seen the connection fail (server gone, network
    // down): the connection is of no further use.
    bool broken() const noexcept;

    // For the pool: not broken, and outside any transaction (neither open
    // nor failed).
    bool reusable() noexcept;

  private:
    pg_conn* conn_ = nullptr;
};

// What a failed PostgreSQL statement means to the store, by its exact
// SQLSTATE (SOCI's error category files every class-23 code as a
// constraint violation, and deadlocks as unknown): 23P01
// exclusion_violation, 23505 unique_violation, 23503
// foreign_key_violation, 40P01 (deadlock) and 40001 (serialization)
// retryable, 55P03 (lock_timeout) and 57014 (statement_timeout) busy;
// unavailable for class 08 and 53, 57P01-57P03 and libpq's own failures
// (no SQLSTATE), but 53100 (disk_full) storage_full, 25006 (a read-only
// transaction: a standby) read_only and class 58 (system/I/O error)
// io_error; other for anything else. Call only from inside a catch
// block.
storage_failure classify_postgresql_failure() noexcept;

}  // namespace invsys
