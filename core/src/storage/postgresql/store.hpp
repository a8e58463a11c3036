// The PostgreSQL backend of store (see store.hpp for the contract), for
// several invsys pools on several hosts in front of one database. No SOCI
// here: store_open.cpp and the tests include this header.
//
// The no-overlap invariant is PostgreSQL's own: an exclusion constraint on
// (resource_id, period) refuses overlapping rows whoever writes them, and
// the store turns its refusal into a conflict naming the allocations in
// the way. Deadlocks and serialization failures are retried a few times
// before they become error(unavailable).
//
// store_options: `connections` is the size of the connection pool;
// `busy_timeout_ms` bounds both the wait for a free connection and, as the
// sessions' lock_timeout, the wait for a row lock (either gives
// unavailable, "database is busy"). A lost connection gives unavailable
// ("database unavailable") once, and the pool drops its idle connections
// with it: the next request connects afresh.
#pragma once

#include <memory>
#include <string>

#include "storage/store.hpp"

namespace invsys {

// Connects to `conninfo`: a libpq URI (`postgresql://user@host:port/db?…`)
// or a keyword/value string (`host=/run/pg port=5433 dbname=invsys`).
// Throws std::runtime_error when it is empty, when this build has no
// PostgreSQL backend, or when the first connection fails (with libpq's
// reason, which never contains the password; the string itself appears in
// no message or log line). Open it in the process that uses it:
// connections do not survive fork().
std::unique_ptr<store> open_postgresql_store(const std::string& conninfo,
                                             const store_options& options);

}  // namespace invsys
