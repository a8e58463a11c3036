// The SQLite store against real database files, one fresh temporary
// directory per test: the store contract (store_contract.hpp) and what is
// SQLite's own (file paths, pragmas, query plans, the write lock). A second
// raw sqlite3 connection stands in for other programs touching the same
// file; a second store object stands in for a second worker process.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "error/error.hpp"
#include "model.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/sql.hpp"
#include "storage/sqlite/store.hpp"
#include "storage/sqlite/write_lock.hpp"
#include "storage/store.hpp"
#include "store_test_support.hpp"

using namespace invsys;
using namespace invsys::store_test;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "invsys-store-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

// A plain sqlite3 connection, as another program would have.
struct raw_connection {
    sqlite3* db = nullptr;
    explicit raw_connection(const std::string& path) {
        if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    }
    ~raw_connection() { sqlite3_close(db); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    void exec(const std::string& sql) {
        char* error = nullptr;
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
        const std::string message = error ? error : "";
        sqlite3_free(error);
        if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + message);
    }
    // Every row, each column as text (NULL as "NULL").
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sql + ": " + sqlite3_errmsg(db));
        }
        std::vector<std::vector<std::string>> out;
        while (sqlite3_step(st) == SQLITE_ROW) {
            std::vector<std::string> row;
            for (int i = 0; i < sqlite3_column_count(st); ++i) {
                const auto* text = sqlite3_column_text(st, i);
                row.emplace_back(text ? reinterpret_cast<const char*>(text) : "NULL");
            }
            out.push_back(std::move(row));
        }
        sqlite3_finalize(st);
        return out;
    }
};

// The contract's fixture: a store on a new file in a new directory.
struct sqlite_backend {
    static constexpr const char* name = "sqlite";

    temp_dir dir;
    std::string path = (dir.path / "invsys.db").string();
    std::unique_ptr<store> db;

    explicit sqlite_backend(store_options options = {}, bool migrated = true) {
        if (!migrated) return;
        db = open(options);
        db->migrate();
    }
    std::unique_ptr<store> open(store_options options = {}) const {
        return store::open("sqlite:" + path, options);
    }
    std::unique_ptr<store> another(store_options options = {}) const {
        auto other = open(options);
        other->migrate();
        return other;
    }
    long long count_rows(const std::string& table) const {
        raw_connection raw(path);
        return std::stoll(raw.rows("SELECT count(*) FROM " + table)[0][0]);
    }
    std::vector<std::pair<long long, long long>> recorded_migrations() const {
        raw_connection raw(path);
        std::vector<std::pair<long long, long long>> out;
        for (const auto& row :
             raw.rows("SELECT version, applied_us FROM schema_migrations ORDER BY version"))
            out.emplace_back(std::stoll(row[0]), std::stoll(row[1]));
        return out;
    }
    static std::vector<int> migration_versions() {
        std::vector<int> out;
        for (const auto& step : sqlite_migrations()) out.push_back(step.version);
        return out;
    }
};

// SQLite's own cases use the fixture under this name.
using fresh_store = sqlite_backend;

}  // namespace

#define INVSYS_STORE_CONTRACT_BACKEND sqlite_backend
#define INVSYS_STORE_CONTRACT_TAG "[sqlite]"
#include "store_contract.hpp"
#include "store_contract_retry.hpp"

// --- opening and set-up ----------------------------------------------------

TEST_CASE("a URL of an unknown scheme is refused as unsupported", "[store][open]") {
    const std::string url =
        GENERATE(as<std::string>{}, "", "mysql://host/db", "file:/tmp/x.db", "/tmp/x.db", "sqlite",
                 "postgres:host=/tmp", "pgsql://host/db", "SQLITE:/tmp/x.db");
    CAPTURE(url);
    REQUIRE_THROWS_WITH(store::open(url, {}), Catch::Contains("unsupported database URL"));
}

TEST_CASE("an sqlite: URL without a file path is refused", "[store][open]") {
    const std::string url = GENERATE(as<std::string>{}, "sqlite:", "sqlite::memory:");
    CAPTURE(url);
    REQUIRE_THROWS_AS(store::open(url, {}), std::runtime_error);
}

TEST_CASE("a database file that cannot be created is refused at open", "[store][open]") {
    temp_dir dir;
    const std::string path = (dir.path / "missing" / "invsys.db").string();
    REQUIRE_THROWS_AS(store::open("sqlite:" + path, {}), std::runtime_error);
}

TEST_CASE("database paths with spaces or '=' are opened as given", "[store][open]") {
    const std::string name = GENERATE(as<std::string>{}, "with space.db", "a=b.db");
    CAPTURE(name);
    temp_dir dir;
    const std::string path = (dir.path / name).string();
    auto db = store::open("sqlite:" + path, {});
    db->migrate();
    db->insert_resource(make_resource("Car", "Car1"));
    CHECK(std::filesystem::exists(path));
    raw_connection raw(path);
    CHECK(raw.rows("SELECT count(*) FROM resources")[0][0] == "1");
}

TEST_CASE(
    "connections run in WAL mode with synchronous=FULL, foreign keys, the busy timeout and the "
    "cache size",
    "[store][open]") {
    store_options options;
    options.busy_timeout_ms = 1234;
    options.cache_kib = 321;
    fresh_store s(options);
    CHECK(sqlite_pragma(*s.db, "journal_mode") == "wal");
    CHECK(sqlite_pragma(*s.db, "synchronous") == "2");  // FULL
    CHECK(sqlite_pragma(*s.db, "foreign_keys") == "1");
    CHECK(sqlite_pragma(*s.db, "busy_timeout") == "1234");
    CHECK(sqlite_pragma(*s.db, "cache_size") == "-321");  // KiB, not pages
    // WAL is a property of the file: every later opener sees it.
    raw_connection raw(s.path);
    CHECK(raw.rows("PRAGMA journal_mode")[0][0] == "wal");
}

// --- query plans -----------------------------------------------------------

TEST_CASE("the hot queries seek an index instead of scanning or sorting", "[store][plan]") {
    struct row {
        const char* name;
        const char* sql;
        const char* plan;  // expected in the plan's detail
    };
    const row r = GENERATE(values<row>({
        {"overlap seek", sqlite_sql::first_ending_after,
         "SEARCH allocations USING INDEX allocations_by_end (resource_id=? AND to_us>?)"},
        {"overlap seek on the blocked range", sqlite_sql::first_blocked_ending_after,
         "SEARCH allocations USING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>?)"},
        {"conflicting ids", sqlite_sql::ending_inside,
         "SEARCH allocations USING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>? AND blocked_to_us<?)"},
        {"availability: one seek per resource", sqlite_sql::available_resources,
         "SEARCH a USING COVERING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>?)"},
        {"any free one", sqlite_sql::available_resource_ids,
         "SEARCH a USING COVERING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>?)"},
        {"one candidate free", sqlite_sql::resource_free,
         "SEARCH a USING COVERING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>?)"},
        {"free gaps", sqlite_sql::blocked_in_window,
         "SEARCH allocations USING COVERING INDEX allocations_by_blocked_end (resource_id=? AND "
         "blocked_to_us>? AND blocked_to_us<?)"},
        {"current allocations", sqlite_sql::ending_after,
         "SEARCH allocations USING INDEX allocations_by_end (resource_id=? AND to_us>?)"},
        {"allocation listing", sqlite_sql::list_allocations,
         "SEARCH allocations USING INDEX allocations_by_start (resource_id=?"},
        {"resource listing", sqlite_sql::list_resources,
         "SEARCH resources USING INDEX resources_by_type (resource_type=? AND rowid>?)"},
        {"name check", sqlite_sql::name_holder,
         "SEARCH resources USING INDEX sqlite_autoindex_resources_2 (resource_type=? AND name=?)"},
        {"allocation by id", sqlite_sql::find_allocation,
         "SEARCH allocations USING INDEX sqlite_autoindex_allocations_1 (id=?)"},
    }));
    CAPTURE(r.name);
    fresh_store s;
    raw_connection raw(s.path);
    std::string plan;
    for (const auto& step : raw.rows(std::string("EXPLAIN QUERY PLAN ") + r.sql))
        plan += step.back() + "\n";
    CAPTURE(plan);
    CHECK(plan.find(r.plan) != std::string::npos);
    // The free gaps' two parts are co-routines of at most limit + 1 rows
    // each, read once: "SCAN inside" reads what the seek gave, no table.
    for (const std::string co_routine : {"SCAN inside\n", "SCAN straddling\n"})
        if (const auto at = plan.find(co_routine); at != std::string::npos)
            plan.erase(at, co_routine.size());
    CHECK(plan.find("SCAN") == std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
}

// --- concurrency -----------------------------------------------------------

TEST_CASE("another program holding a write transaction past the busy timeout gives unavailable",
          "[store][concurrency][busy]") {
    store_options options;
    options.busy_timeout_ms = 150;
    fresh_store s(options);
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);

    raw_connection other(s.path);
    other.exec("BEGIN IMMEDIATE");
    const error e = error_from([&] { s.db->insert_resource(make_resource("Car", "Car2")); });
    CHECK(e.code() == error_code::unavailable);
    CHECK(retry_after_of(e) == "1");
    CHECK(std::string(e.what()) == "database is busy");
    CHECK(error_from([&] { s.db->insert_allocation(make_allocation(car.id, 0, 1)); }).code() ==
          error_code::unavailable);
    // Readers are not held up by a writer (WAL).
    CHECK(s.db->find_resource("Car", car.id));
    CHECK_NOTHROW(s.db->ping());
    other.exec("ROLLBACK");

    CHECK_NOTHROW(s.db->insert_resource(make_resource("Car", "Car2")));
}

TEST_CASE("another process holding the write lock past the busy timeout gives unavailable",
          "[store][concurrency][busy]") {
    store_options options;
    options.busy_timeout_ms = 150;
    fresh_store s(options);

    // A child process standing in for another worker: it opens the lock
    // after fork() and holds it until the parent closes `release`.
    int holding[2];
    int release[2];
    REQUIRE(::pipe(holding) == 0);
    REQUIRE(::pipe(release) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(holding[0]);
        ::close(release[1]);
        int status = 1;
        try {
            write_lock lock(s.path + ".lock");
            if (lock.try_lock_until(std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
                char c = 'x';
                (void)!::write(holding[1], &c, 1);
                (void)!::read(release[0], &c, 1);  // end of file when the parent closes
                lock.unlock();
                status = 0;
            }
        } catch (...) {
        }
        ::_exit(status);
    }
    ::close(holding[1]);
    ::close(release[0]);
    char c = 0;
    REQUIRE(::read(holding[0], &c, 1) == 1);

    const auto start = std::chrono::steady_clock::now();
    const error e = error_from([&] { s.db->migrate(); });
    CHECK(e.code() == error_code::unavailable);
    CHECK(retry_after_of(e) == "1");
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(140));
    ::close(release[1]);  // the child releases the lock and exits
    ::close(holding[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));

    CHECK_NOTHROW(s.db->insert_resource(make_resource("Car", "Car1")));
}

TEST_CASE("a worker killed inside a write transaction does not hold up the others",
          "[store][concurrency][busy]") {
    store_options options;
    options.busy_timeout_ms = 5000;
    fresh_store s(options);
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);

    // The child does what a worker's write does — the write lock, then
    // BEGIN IMMEDIATE and an insert — and is killed before it commits.
    int holding[2];
    REQUIRE(::pipe(holding) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(holding[0]);
        try {
            write_lock lock(s.path + ".lock");
            if (lock.try_lock_until(std::chrono::steady_clock::now() + std::chrono::seconds(5))) {
                raw_connection raw(s.path);
                raw.exec("BEGIN IMMEDIATE");
                raw.exec(
                    "INSERT INTO resources (id, resource_type, name, attributes, created_us)"
                    " VALUES ('ghost', 'Car', 'Ghost', '{}', 1)");
                char c = 'x';
                (void)!::write(holding[1], &c, 1);
                for (;;) ::pause();
            }
        } catch (...) {
        }
        ::_exit(1);
    }
    ::close(holding[1]);
    char c = 0;
    REQUIRE(::read(holding[0], &c, 1) == 1);
    ::close(holding[0]);

    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));

    const auto start = std::chrono::steady_clock::now();
    CHECK_NOTHROW(s.db->insert_resource(make_resource("Car", "Car2")));
    CHECK_NOTHROW(s.db->insert_allocation(make_allocation(car.id, 0, 1)));
    // Not after the busy timeout: the lock was taken over at once.
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
    // The dead writer's transaction was rolled back.
    CHECK(s.count_rows("resources") == 2);
    CHECK_FALSE(s.db->find_resource("Car", "ghost"));
}

// The store's connections carry no mutex of their own (multi-thread mode,
// as SQLITE_OPEN_NOMUTEX): the pool's leases give each to one thread at a
// time (sqlite/connection.cpp, use_unguarded_connections). Each Catch test
// runs in a process of its own (catch_discover_tests), so the store below
// opens the first SQLite connection of its process, as in a worker.
TEST_CASE("the store's SQLite connections have no mutex of their own", "[store][sqlite]") {
    const temp_dir dir;
    const std::string path = (dir.path / "unguarded.db").string();
    const sqlite_connection first(path, 1000, 2000);
    CHECK(use_unguarded_connections());
    CHECK_FALSE(first.guarded());
    const sqlite_connection second(path, 1000, 2000);
    CHECK_FALSE(second.guarded());
}
