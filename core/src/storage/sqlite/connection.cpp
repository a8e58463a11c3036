#include "storage/sqlite/connection.hpp"

#include <soci/sqlite3/soci-sqlite3.h>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace invsys {
namespace {

// SOCI 4.0.3 reads a connect string without '=' as the file name itself
// (spaces included); with '=' it parses `key=value` pairs split on spaces,
// where a value may be double-quoted but never contain a quote.
std::string connect_string(const std::string& path) {
    use_unguarded_connections();
    if (path.find('=') == std::string::npos) return path;
    if (path.find_first_of(" \"") == std::string::npos) return "db=" + path;
    throw std::runtime_error("unsupported database path (contains '=' and a space or quote): " +
                             path);
}

// SQLite's own wording for the UNIQUE(resource_type, name) index. The
// writers check names before inserting, so this only fires if a write
// bypassed that check; the text is stable across SQLite 3 releases.
constexpr std::string_view duplicate_name_message =
    "UNIQUE constraint failed: resources.resource_type, resources.name";

// See use_unguarded_connections().
constexpr int statement_journal_spill_bytes = 4 << 20;

// The overlap guard's RAISE message (schema/005_overlap_guard.sql).
constexpr std::string_view overlap_guard_message = "allocation overlaps an existing allocation";

}  // namespace

// SOCI 4.0.3 opens its connections with sqlite3_open_v2(READWRITE |
// CREATE), no way to add SQLITE_OPEN_NOMUTEX; SQLite's multi-thread mode is
// the same for every connection opened without FULLMUTEX: no mutex per
// connection, taken and released on every sqlite3_* call (a step, each
// column read: hundreds per page of 100 rows). That is safe because every
// connection of this process is used by one thread at a time: the store's
// through the pool's leases (common/pool.hpp: a connection is either idle
// under the pool's mutex or owned by one lease), the backup's and the
// migrations' by the one thread that opened them. SQLite's shared state
// (page cache, memory allocator) keeps its own mutexes in this mode.
//
// The mode can only be set before SQLite initializes (the first open of the
// process). Later it fails with SQLITE_MISUSE and connections stay
// serialized: slower, still correct.
bool use_unguarded_connections() noexcept {
    static std::once_flag once;
    static bool applied = false;
    std::call_once(once, [] {
        applied = sqlite_api::sqlite3_config(SQLITE_CONFIG_MULTITHREAD) == SQLITE_OK;
        // The same moment, before initialization: a savepoint's sub-journal
        // (the pages it changed, for ROLLBACK TO) stays in memory up to this
        // size instead of SQLite's 64 KiB. Each member of a commit group
        // writes in a savepoint of its own, and a group's sub-journal passed
        // 64 KiB at about its second member: every group then created,
        // wrote and removed a temporary file in /var/tmp (an open, an
        // unlink, a pwrite per page, a close). The memory is a group's
        // changed pages (about 15 per booking), freed at its COMMIT.
        sqlite_api::sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, statement_journal_spill_bytes);
    });
    return applied;
}

bool sqlite_connection::guarded() const noexcept {
    return sqlite_api::sqlite3_db_mutex(db_) != nullptr;
}

storage_failure classify_sqlite_failure() noexcept {
    try {
        throw;
    } catch (const soci::sqlite3_soci_error& e) {
        // SOCI 4.0.3 reports the primary result code (extended codes are
        // not enabled on its connections); mask anyway in case they are.
        const int primary = e.result() & 0xff;
        if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return storage_failure::busy;
        // The disk: each leaves the transaction rolled back (SQLite's
        // statement or transaction rollback), nothing half-written.
        if (primary == SQLITE_FULL) return storage_failure::storage_full;
        if (primary == SQLITE_READONLY) return storage_failure::read_only;
        if (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_NOTADB ||
            primary == SQLITE_CORRUPT) {
            return storage_failure::io_error;
        }
        if (primary == SQLITE_CONSTRAINT &&
            std::string_view(e.what()).find(duplicate_name_message) != std::string_view::npos) {
            return storage_failure::unique_violation;
        }
        if (primary == SQLITE_CONSTRAINT &&
            std::string_view(e.what()).find(overlap_guard_message) != std::string_view::npos) {
            return storage_failure::exclusion_violation;
        }
    } catch (...) {
    }
    return storage_failure::other;
}

// Switching a new file to WAL takes an exclusive lock, and when two
// connections race for it SQLite answers SQLITE_BUSY at once rather than
// call the busy handler (each holds a shared lock the other waits on). So
// retry, with short pauses, for as long as the busy timeout allows. Once
// the file is in WAL mode (it stays so) the pragma returns at once.
std::string sqlite_connection::switch_to_wal(unsigned busy_timeout_ms) {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    for (;;) {
        try {
            std::string journal_mode;
            session_ << "PRAGMA journal_mode = WAL", soci::into(journal_mode);
            return journal_mode;
        } catch (const soci::sqlite3_soci_error&) {
            const bool busy = classify_sqlite_failure() == storage_failure::busy;
            if (!busy || std::chrono::steady_clock::now() >= until) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

sqlite_connection::sqlite_connection(const std::string& path, unsigned busy_timeout_ms,
                                     unsigned cache_kib, wal_watcher* watcher)
    : connection_base(*soci::factory_sqlite3(), connect_string(path)) {
    db_ = static_cast<soci::sqlite3_session_backend*>(session_.get_backend())->conn_;

    // First, so that the pragmas below wait for a busy database too. SOCI's
    // own `timeout=` option counts seconds; the pragma takes milliseconds.
    session_ << "PRAGMA busy_timeout = " + std::to_string(busy_timeout_ms);

    // Before any table is read, and after the busy timeout: preparing it
    // reads the schema, which another connection may be migrating.
    // Negative: KiB rather than pages, whatever the file's page size. Every
    // connection keeps its own cache, filled up to this bound and kept while
    // the file is unchanged, so it is paid once per pooled connection
    // (docs/architecture.md, "Memory").
    session_ << "PRAGMA cache_size = -" + std::to_string(cache_kib);

    const std::string journal_mode = switch_to_wal(busy_timeout_ms);
    if (journal_mode != "wal") {
        throw std::runtime_error("cannot use WAL on " + path + " (journal_mode is " + journal_mode +
                                 ")");
    }

    // A 201 must mean the row is on disk: WAL with NORMAL may lose the
    // last commits on power loss.
    session_ << "PRAGMA synchronous = FULL";
    int synchronous = -1;
    session_ << "PRAGMA synchronous", soci::into(synchronous);
    if (synchronous != 2) {
        throw std::runtime_error("PRAGMA synchronous = FULL did not hold on " + path);
    }

    session_ << "PRAGMA foreign_keys = ON";
    int foreign_keys = 0;
    session_ << "PRAGMA foreign_keys", soci::into(foreign_keys);
    if (foreign_keys != 1) {
        throw std::runtime_error("PRAGMA foreign_keys = ON did not hold on " + path);
    }

    // Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is a
    // wal hook too): see checkpointer.hpp.
    if (watcher != nullptr) {
        sqlite_api::sqlite3_wal_hook(
            db_,
            [](void* w, sqlite_api::sqlite3*, const char*, int frames) {
                static_cast<wal_watcher*>(w)->committed(frames);
                return SQLITE_OK;
            },
            watcher);
    }
}

wal_progress sqlite_connection::checkpoint_passive() {
    wal_progress p;
    const int rc = sqlite_api::sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                                         &p.wal_frames, &p.checkpointed_frames);
    if (rc == SQLITE_BUSY) {
        p.busy = true;
    } else if (rc != SQLITE_OK) {
        throw std::runtime_error(std::string("checkpoint: ") + sqlite_api::sqlite3_errmsg(db_));
    }
    return p;
}

void sqlite_connection::finish_statements() noexcept {
    using namespace sqlite_api;
    for (sqlite3_stmt* st = sqlite3_next_stmt(db_, nullptr); st != nullptr;
         st = sqlite3_next_stmt(db_, st)) {
        if (sqlite3_stmt_busy(st) != 0) sqlite3_reset(st);
    }
}

bool sqlite_connection::in_transaction() const noexcept {
    return sqlite_api::sqlite3_get_autocommit(db_) == 0;
}

bool sqlite_connection::file_moved() const noexcept {
    int moved = 0;
    const int rc = sqlite_api::sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved);
    return rc == SQLITE_OK && moved != 0;
}

bool sqlite_connection::reusable() noexcept {
    finish_statements();
    return !in_transaction();
}

}  // namespace invsys
