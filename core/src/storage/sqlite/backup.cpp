#include "storage/sqlite/backup.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "storage/common/schema_guard.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/migrations.hpp"

namespace invsys {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

std::string errno_text() { return std::strerror(errno); }

// One connection, closed at scope exit; used by the thread that opened it
// only, so without a mutex of its own (NOMUTEX, as the store's: see
// use_unguarded_connections in connection.cpp).
class connection {
  public:
    connection(const std::string& path, int flags, unsigned busy_timeout_ms) {
        use_unguarded_connections();
        if (sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) !=
            SQLITE_OK) {
            const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            fail("cannot open " + path + ": " + why);
        }
        sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout_ms));
    }
    ~connection() { sqlite3_close(db_); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    sqlite3* get() const { return db_; }

    void exec(const std::string& sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            const std::string why = message ? message : sqlite3_errmsg(db_);
            sqlite3_free(message);
            fail(why);
        }
    }

    // The first column of every row, as text (NULL as "").
    std::vector<std::string> column(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
            fail(sqlite3_errmsg(db_));
        std::vector<std::string> values;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(st, 0);
            values.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
        }
        const std::string why = sqlite3_errmsg(db_);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) fail(why);
        return values;
    }

  private:
    sqlite3* db_ = nullptr;
};

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

void fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) fail("cannot open " + path + " to sync it: " + errno_text());
    const bool synced = ::fsync(fd) == 0;
    const int e = errno;
    ::close(fd);
    if (!synced) fail("cannot sync " + path + ": " + std::strerror(e));
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::uint64_t size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// SQL text of a string literal.
std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

int known_schema() { return sqlite_migrations().back().version; }

// What makes a file an invsys database this binary may open: the tables
// of migration 1 and the migrations table, a schema it knows, and an
// intact file. Returns its schema version; throws the refusal.
int check_invsys_database(connection& db, const std::string& file) {
    std::vector<std::string> tables;
    try {
        tables = db.column("SELECT name FROM sqlite_master WHERE type = 'table'");
    } catch (const std::runtime_error& e) {
        fail(file + " is not an SQLite database (" + e.what() + ")");
    }
    const std::set<std::string> names(tables.begin(), tables.end());
    for (const char* needed : {"schema_migrations", "resources", "allocations"}) {
        if (names.count(needed) == 0)
            fail(file + " is not an invsys database (it has no table " + needed + ")");
    }
    std::set<long long> recorded;
    for (const std::string& v : db.column("SELECT version FROM schema_migrations"))
        recorded.insert(std::stoll(v));
    std::optional<schema_guard_row> guard;
    if (recorded.count(schema_guard_version) != 0 && names.count("schema_guard") != 0) {
        const auto versions = db.column("SELECT schema_version FROM schema_guard");
        const auto minimum = db.column("SELECT min_binary_schema FROM schema_guard");
        if (!versions.empty() && !minimum.empty())
            guard = schema_guard_row{std::stoi(versions[0]), std::stoi(minimum[0])};
    }
    if (auto refusal = schema_refusal(recorded, guard, known_schema()))
        fail(file + ": " + *refusal);
    const auto integrity = db.column("PRAGMA integrity_check");
    if (integrity.size() != 1 || integrity[0] != "ok")
        fail(file + " fails PRAGMA integrity_check: " +
             (integrity.empty() ? std::string("no answer") : integrity[0]));
    return recorded.empty() ? 0 : static_cast<int>(*recorded.rbegin());
}

// An exclusive flock on `<db>.lock`, held while the restore runs: every
// process that has the database open holds a shared one (write_lock.hpp),
// and one starting meanwhile waits for this one.
class exclusive_presence {
  public:
    explicit exclusive_presence(const std::string& lock_path) : path_(lock_path) {
        fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) fail("cannot open the lock file " + lock_path + ": " + errno_text());
        while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd_);
            if (e == EWOULDBLOCK)
                fail(
                    "a running invsys service (or another invsys-admin) has the database open "
                    "(" +
                    lock_path + " is in use): stop it before restoring");
            fail("cannot lock " + lock_path + ": " + std::strerror(e));
        }
    }
    // Nothing of the old lock state may survive into the restored
    // database's life: the next process to open it starts it afresh.
    void reset() {
        if (::ftruncate(fd_, 0) != 0)
            fail("cannot reset the lock file " + path_ + ": " + errno_text());
    }
    ~exclusive_presence() { ::close(fd_); }
    exclusive_presence(const exclusive_presence&) = delete;
    exclusive_presence& operator=(const exclusive_presence&) = delete;

  private:
    std::string path_;
    int fd_ = -1;
};

void remove_if_there(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        fail("cannot remove " + path + ": " + errno_text());
}

}  // namespace

backup_report backup_sqlite(const std::string& db_path, const std::string& file,
                            unsigned busy_timeout_ms) {
    if (exists(file)) fail(file + " exists already: a backup never overwrites a file");
    if (!exists(db_path)) fail("the database " + db_path + " does not exist");
    const std::string partial = file + ".partial";
    remove_if_there(partial);
    const auto started = std::chrono::steady_clock::now();
    int version = 0;
    try {
        {
            // Read-only: this connection can neither write nor take the
            // write lock; its one read transaction is the snapshot.
            connection source(db_path, SQLITE_OPEN_READONLY, busy_timeout_ms);
            source.exec("VACUUM INTO " + quoted(partial));
        }
        connection copy(partial, SQLITE_OPEN_READWRITE, busy_timeout_ms);
        version = check_invsys_database(copy, partial);
    } catch (...) {
        ::unlink(partial.c_str());
        throw;
    }
    fsync_path(partial, O_RDONLY);
    if (::link(partial.c_str(), file.c_str()) != 0) {
        // link(), not rename(): a file created at `file` meanwhile is kept.
        const std::string why = errno_text();
        ::unlink(partial.c_str());
        fail("cannot create " + file + ": " + why);
    }
    ::unlink(partial.c_str());
    fsync_path(directory_of(file), O_RDONLY | O_DIRECTORY);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    return {"sqlite", size_of(file), took.count(), version};
}

backup_report restore_sqlite(const std::string& db_path, const std::string& file) {
    if (!exists(file)) fail(file + " does not exist");
    const auto started = std::chrono::steady_clock::now();
    int version = 0;
    {
        connection backup(file, SQLITE_OPEN_READONLY, 0);
        version = check_invsys_database(backup, file);
    }
    exclusive_presence nobody_else(db_path + ".lock");
    const std::string incoming = db_path + ".restoring";
    remove_if_there(incoming);
    try {
        // SQLite's backup API rather than a byte copy: whatever the
        // backup file's own journal state, the copy is one clean file.
        connection source(file, SQLITE_OPEN_READONLY, 0);
        connection target(incoming, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 0);
        sqlite3_backup* copy = sqlite3_backup_init(target.get(), "main", source.get(), "main");
        if (copy == nullptr) fail("cannot copy " + file + ": " + sqlite3_errmsg(target.get()));
        const int rc = sqlite3_backup_step(copy, -1);
        sqlite3_backup_finish(copy);
        if (rc != SQLITE_DONE) fail("cannot copy " + file + ": " + sqlite3_errstr(rc));
        target.exec("PRAGMA journal_mode = WAL");
    } catch (...) {
        ::unlink(incoming.c_str());
        throw;
    }
    // The service's user must be able to write it: the old file's mode
    // and (as root) owner.
    struct stat old {};
    if (::stat(db_path.c_str(), &old) == 0) {
        (void)::chmod(incoming.c_str(), old.st_mode & 0777);
        if (::geteuid() == 0) (void)::chown(incoming.c_str(), old.st_uid, old.st_gid);
    }
    fsync_path(incoming, O_RDONLY);
    // The old database's -wal and -shm belong to it: SQLite would apply
    // that WAL to the restored file. Nobody has it open (the lock above).
    remove_if_there(db_path + "-wal");
    remove_if_there(db_path + "-shm");
    remove_if_there(incoming + "-wal");
    remove_if_there(incoming + "-shm");
    if (::rename(incoming.c_str(), db_path.c_str()) != 0)
        fail("cannot rename " + incoming + " to " + db_path + ": " + errno_text());
    fsync_path(directory_of(db_path), O_RDONLY | O_DIRECTORY);
    nobody_else.reset();
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    return {"sqlite", size_of(db_path), took.count(), version};
}

}  // namespace invsys
