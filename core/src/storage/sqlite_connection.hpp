// One SQLite connection of the store, set up for durability and waiting
// (WAL, synchronous=FULL, foreign keys, busy timeout), with its prepared
// statements. Used by one thread at a time (sqlite_pool hands it out).
#pragma once

#include <soci/soci.h>

#include <string>

#include "storage/sqlite_queries.hpp"

namespace sqlite_api {
struct sqlite3;
}

namespace invsys {

class sqlite_connection {
  public:
    // Opens `path` (created when missing) and sets every connection pragma.
    // Throws std::runtime_error (soci_error included) when it cannot, or when
    // a pragma does not hold afterwards.
    sqlite_connection(const std::string& path, unsigned busy_timeout_ms);
    sqlite_connection(const sqlite_connection&) = delete;
    sqlite_connection& operator=(const sqlite_connection&) = delete;

    soci::session& session() noexcept { return session_; }

    template <class Query>
    Query& query() {
        return statements_.get<Query>(session_);
    }

    // Resets every statement still positioned on a row. SOCI leaves a
    // statement that returned a row unreset until its next execute, and an
    // unreset statement keeps its read transaction open: it pins a WAL
    // snapshot (the checkpoint cannot pass it) and makes a later
    // BEGIN IMMEDIATE on that stale snapshot fail at once with SQLITE_BUSY.
    void finish_statements() noexcept;

    // True while a transaction is open (BEGIN without COMMIT/ROLLBACK).
    bool in_transaction() const noexcept;

  private:
    std::string switch_to_wal(unsigned busy_timeout_ms);

    soci::session session_;  // declared first: the statements die before it
    sqlite_api::sqlite3* db_ = nullptr;
    sqlite_queries::statement_cache statements_;
};

}  // namespace invsys
