// One SQLite connection of the store, set up for durability and waiting
// (WAL, synchronous=FULL, foreign keys, busy timeout), with its prepared
// statements. Used by one thread at a time (the pool hands it out).
#pragma once

#include <string>

#include "storage/common/failure.hpp"
#include "storage/common/queries.hpp"
#include "storage/sqlite/sql.hpp"

namespace sqlite_api {
struct sqlite3;
}

namespace invsys {

namespace sqlite_statements {
namespace q = queries;
using S = sqlite_sql;
using cache = q::cache<
    q::begin_immediate<S>, q::commit<S>, q::rollback<S>, q::savepoint<S>, q::release_savepoint<S>,
    q::rollback_to_savepoint<S>, q::ping<S>, q::find_resource<S>, q::resource_seq<S>,
    q::lock_resource<S>, q::resource_exists<S>, q::list_resources<S>, q::name_holder<S>,
    q::insert_resource<S>, q::update_resource<S>, q::delete_resource<S>, q::first_ending_after<S>,
    q::ending_inside<S>, q::count_ending_inside<S>, q::ending_after<S>, q::count_ending_after<S>,
    q::find_allocation<S>, q::allocation_key<S>, q::list_allocations<S>, q::insert_allocation<S>,
    q::update_allocation<S>, q::delete_allocation<S>, q::find_resource_for_update<S>,
    q::lock_allocations_of<S>, q::find_allocation_for_update<S>, q::purge_idempotency_keys<S>,
    q::insert_idempotency_key<S>, q::find_idempotency_key<S>, q::take_over_idempotency_key<S>,
    q::complete_idempotency_key<S>, q::forget_idempotency_key<S>, q::first_blocked_ending_after<S>,
    q::available_resources<S>, q::available_resource_ids<S>, q::resource_free<S>,
    q::blocked_in_window<S>, q::insert_audit_entry<S>>;
}  // namespace sqlite_statements

// Told the length of the WAL, in frames, after each COMMIT of a connection
// that watches it (sqlite3_wal_hook): the store's checkpointer.
class wal_watcher {
  public:
    virtual void committed(int wal_frames) noexcept = 0;

  protected:
    ~wal_watcher() = default;
};

// What a checkpoint found and did (sqlite3_wal_checkpoint_v2).
struct wal_progress {
    bool busy = false;            // another connection's checkpoint was running
    int wal_frames = 0;           // frames in the WAL
    int checkpointed_frames = 0;  // of them, in the database file now
};

class sqlite_connection : public queries::connection_base<sqlite_statements::cache> {
  public:
    // Opens `path` (created when missing) and sets every connection pragma,
    // its page cache bounded to `cache_kib` KiB. Throws std::runtime_error
    // (soci_error included) when it cannot, or when a pragma does not hold
    // afterwards. With a `watcher`, SQLite's automatic checkpoint is off
    // on this connection and `watcher` is told the WAL's length after each
    // of its commits instead; it must outlive the connection.
    sqlite_connection(const std::string& path, unsigned busy_timeout_ms, unsigned cache_kib,
                      wal_watcher* watcher = nullptr);

    // Resets every statement still positioned on a row. SOCI leaves a
    // statement that returned a row unreset until its next execute, and an
    // unreset statement keeps its read transaction open: it pins a WAL
    // snapshot (the checkpoint cannot pass it) and makes a later
    // BEGIN IMMEDIATE on that stale snapshot fail at once with SQLITE_BUSY.
    void finish_statements() noexcept;

    // True while a transaction is open (BEGIN without COMMIT/ROLLBACK).
    bool in_transaction() const noexcept;

    // True when the file this connection has open is no longer at its path
    // (removed, or replaced by another file): what it writes would be lost
    // and other processes would not see it (SQLITE_FCNTL_HAS_MOVED).
    bool file_moved() const noexcept;

    // For the pool: finishes the statements; false when a transaction is
    // still open (never expected: a writer that failed to roll back).
    bool reusable() noexcept;

    // Whether SQLite guards this connection with a mutex of its own. False
    // once use_unguarded_connections() took effect: the pool's leases are
    // then the only guard, and the only one needed.
    bool guarded() const noexcept;

    // A PASSIVE checkpoint: copies what it can of the WAL into the
    // database file without waiting for readers or writers. A checkpoint
    // already running (another connection's) is `busy`; any other failure
    // throws std::runtime_error with SQLite's message.
    wal_progress checkpoint_passive();

  private:
    std::string switch_to_wal(unsigned busy_timeout_ms);

    sqlite_api::sqlite3* db_ = nullptr;
};

// Puts SQLite in multi-thread mode (connections without a mutex of their
// own, as SQLITE_OPEN_NOMUTEX) before the first connection of the process
// opens; every connection opener of the SQLite store calls it. True when the
// mode holds, false when SQLite was initialized before (connections then
// stay serialized). Each connection must be used by one thread at a time.
bool use_unguarded_connections() noexcept;

// What a failed SQLite call means to the store (see common/failure.hpp):
// busy for SQLITE_BUSY and SQLITE_LOCKED, storage_full for SQLITE_FULL,
// read_only for SQLITE_READONLY, io_error for SQLITE_IOERR, SQLITE_CANTOPEN,
// SQLITE_NOTADB and SQLITE_CORRUPT, unique_violation for the
// UNIQUE(resource_type, name) index, other for anything else. Call only
// from inside a catch block.
storage_failure classify_sqlite_failure() noexcept;

}  // namespace invsys
