// The one place where database errors become error. Every storage
// entry point funnels its exceptions through here, so the API layer never
// sees a SOCI, SQLite or PostgreSQL type; and the one place that reads
// SQLite result codes and PostgreSQL SQLSTATEs.
#pragma once

#include <string_view>

#include "error/error.hpp"

namespace invsys {

// Call only from inside a catch block. Rethrows the exception in flight:
// an error (or std::bad_alloc) unchanged; a busy or locked database
// (SQLite), or a PostgreSQL lock timeout, deadlock or serialization
// failure, as database_busy(); a lost or refused PostgreSQL connection as
// database_unavailable(); a duplicate (resource_type, name) or an
// overlapping period as conflict (without ids: the stores catch these
// themselves to name them); anything else as error(internal) after
// logging it with `operation`.
[[noreturn]] void rethrow_as_error(std::string_view operation);

// 503 with Retry-After: 1, for a database (or write lock, or connection)
// that could not be had within busy_timeout_ms.
error database_busy();

// 503 with Retry-After: 1, for a database server that cannot be reached.
error database_unavailable();

// What a failed PostgreSQL statement means to the store, by its exact
// SQLSTATE (SOCI's error category files every class-23 code as a
// constraint violation, and deadlocks as unknown).
enum class postgresql_failure {
    other,                  // not a PostgreSQL error, or none of these
    exclusion_violation,    // 23P01: an overlapping period
    unique_violation,       // 23505
    foreign_key_violation,  // 23503
    transient,              // 40P01 deadlock, 40001 serialization failure: retry it all
    unavailable,            // connection lost or refused, server shutting down,
                            // too many connections, lock or statement timeout
};

// Call only from inside a catch block: classifies the exception in flight.
postgresql_failure current_postgresql_failure() noexcept;

}  // namespace invsys
