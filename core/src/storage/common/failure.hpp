// The one place where database errors become invsys::error. Each backend
// only classifies its own exceptions into a storage_failure (sqlite/ and
// postgresql/ classifier.cpp); what a failure means to the API is decided
// here, once, for both. The API layer never sees a SOCI, SQLite or
// PostgreSQL type.
#pragma once

#include <string_view>

#include "error/error.hpp"

namespace invsys {

// What a failed database call means to the store.
enum class storage_failure {
    other,                  // not a database error, or none of these: a bug
    busy,                   // locked, or a lock/statement timeout ran out: try later
    unavailable,            // connection lost or refused, server shutting down
    storage_full,           // the disk (or the database's quota) is full: nothing written
    read_only,              // the database or its file system cannot be written now
    io_error,               // the disk failed a read or write: nothing half-written stays
    unique_violation,       // a duplicate (resource_type, name)
    exclusion_violation,    // an overlapping period
    foreign_key_violation,  // a row pointing at nothing
    retryable,              // deadlock, serialization failure: run it all again
};

// Classifies the exception in flight. Call only from inside a catch block.
using failure_classifier = storage_failure (*)() noexcept;

// Call only from inside a catch block. Rethrows the exception in flight:
// an error (or std::bad_alloc) unchanged; busy and retryable as
// database_busy(); unavailable as database_unavailable() after logging it
// with `operation`; storage_full as database_full() (507), read_only and
// io_error as 503s saying so, each logged with `operation`; a unique or exclusion violation as
// conflict (without ids: the stores catch these themselves to name them); anything else as
// error(internal) after logging it with `operation`.
[[noreturn]] void rethrow_as_error(std::string_view operation, failure_classifier classify);

// 503 with Retry-After: 1, for a database (or write lock, or connection)
// that could not be had within busy_timeout_ms.
error database_busy();

// 503 with Retry-After: 1, for a database server that cannot be reached.
error database_unavailable();

// 507 with Retry-After: 1, for a database whose disk is full. Transactions
// are atomic: what failed left nothing behind, and writes work again once
// space is freed (no restart).
error database_full();

// 503 with Retry-After: 1, for a database that cannot be written now (a
// read-only file or file system) or failed an I/O.
error database_read_only();
error database_io_error();

}  // namespace invsys
