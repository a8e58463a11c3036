// One PostgreSQL connection of the store, with its prepared statements.
// Used by one thread at a time (postgresql_pool hands it out).
#pragma once

#include <soci/soci.h>

#include <string>

#include "storage/postgresql_queries.hpp"

struct pg_conn;

namespace invsys {

class postgresql_connection {
  public:
    // Connects with the libpq connection string or URI `conninfo` and sets
    // lock_timeout to `lock_timeout_ms` (a write waiting longer for a row
    // lock fails with lock_not_available rather than hang). Throws
    // std::runtime_error (soci_error included) when it cannot.
    postgresql_connection(const std::string& conninfo, unsigned lock_timeout_ms);
    postgresql_connection(const postgresql_connection&) = delete;
    postgresql_connection& operator=(const postgresql_connection&) = delete;

    soci::session& session() noexcept { return session_; }

    template <class Query>
    Query& query() {
        return statements_.get<Query>(session_);
    }

    // Call after a statement failed: destroys the statement last used, so
    // that SOCI frees its parameter buffers (see postgresql_queries::cache).
    void forget_failed_statement() noexcept { statements_.forget_last(); }

    // True once libpq has seen the connection fail (server gone, network
    // down): the connection is of no further use.
    bool broken() const noexcept;

    // True outside any transaction (neither open nor failed).
    bool idle() const noexcept;

  private:
    soci::session session_;  // declared first: the statements die before it
    pg_conn* conn_ = nullptr;
    postgresql_queries::statement_cache statements_;
};

}  // namespace invsys
