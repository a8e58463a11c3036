// The raw SQLite ceiling of the invsys benchmark, case (f).
//
//   sqlite_ceiling --db PATH --schema-dir DIR [--seconds S] [--max-count N]
//                  [--resources R]
//
// One connection, journal_mode=WAL, synchronous=FULL, foreign_keys=ON, the
// service's own schema files (DIR: core/src/storage/sqlite/schema, every
// NNN_*.sql in order, as the service's migrations apply them; a build with
// -DINVSYS_SCHEMA_DIR="..." defaults to that) and, per booking, the
// service's write transaction statement for statement
// (core/src/storage/sqlite/store.cpp insert_allocation, sqlite/sql.hpp):
//
//   BEGIN IMMEDIATE
//   SELECT seq FROM resources WHERE id = ?                (the resource exists)
//   SELECT ... FROM allocations WHERE resource_id = ? AND to_us > ? AND id <> ?
//       ORDER BY to_us LIMIT 1                            (the one-seek overlap check)
//   INSERT INTO allocations ...
//   COMMIT
//
// with prepared statements reused, on a fresh database file PATH (which must
// not exist; put it on the file system of the service's database). Bookings
// are non-overlapping one-minute intervals, round-robin over R resources.
// It runs until S seconds have passed or N transactions are done, whichever
// comes first, and prints one line:
//   BENCH_JSON {"requests":..,"duration_s":..,"rps":..,"p50_us":..,"p99_us":..,...}
// Latency: steady_clock around each whole transaction.

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "schema_files.hpp"

namespace {

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "sqlite_ceiling: %s\n", what.c_str());
    std::exit(1);
}

void check(sqlite3* db, int rc, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        die(std::string(what) + ": " + sqlite3_errmsg(db));
    }
}

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "?";
        sqlite3_free(error);
        die(std::string(sql) + ": " + message);
    }
}

std::string pragma_value(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    check(db, sqlite3_prepare_v2(db, sql, -1, &st, nullptr), sql);
    std::string value;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char* text = sqlite3_column_text(st, 0);
        value = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(st);
    return value;
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* st = nullptr;
    check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr), sql);
    return st;
}

// A random version-4 UUID, lower case, like the service's ids.
std::string new_uuid(std::mt19937_64& rng) {
    std::uint64_t hi = rng(), lo = rng();
    hi = (hi & ~0xF000ULL) | 0x4000ULL;
    lo = (lo & ~(0xC000000000000000ULL)) | 0x8000000000000000ULL;
    char text[37];
    std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx",
                  static_cast<unsigned long long>(hi >> 32),
                  static_cast<unsigned long long>((hi >> 16) & 0xFFFF),
                  static_cast<unsigned long long>(hi & 0xFFFF),
                  static_cast<unsigned long long>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    return text;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

int main(int argc, char** argv) {
    std::string path;
#ifdef INVSYS_SCHEMA_DIR
    std::string schema_dir = INVSYS_SCHEMA_DIR;
#else
    std::string schema_dir;
#endif
    double seconds = 10;
    long long max_count = 1000000;
    int resource_count = 8;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + arg);
            return argv[++i];
        };
        if (arg == "--db")
            path = value();
        else if (arg == "--schema-dir")
            schema_dir = value();
        else if (arg == "--seconds")
            seconds = std::atof(value().c_str());
        else if (arg == "--max-count")
            max_count = std::atoll(value().c_str());
        else if (arg == "--resources")
            resource_count = std::atoi(value().c_str());
        else
            die("unknown argument " + arg);
    }
    if (path.empty() || schema_dir.empty())
        die("usage: sqlite_ceiling --db PATH --schema-dir DIR [--seconds S] [--max-count N] "
            "[--resources R]");
    if (!(seconds > 0) || max_count < 1 || resource_count < 1)
        die("bad --seconds/--max-count/--resources");
    struct stat existing;
    if (stat(path.c_str(), &existing) == 0) die(path + " exists already: give a fresh path");

    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
        die("cannot open " + path);
    }
    sqlite3_busy_timeout(db, 5000);
    if (pragma_value(db, "PRAGMA journal_mode = WAL") != "wal")
        die("journal_mode=WAL did not hold");
    exec(db, "PRAGMA synchronous = FULL");
    if (pragma_value(db, "PRAGMA synchronous") != "2") die("synchronous=FULL did not hold");
    exec(db, "PRAGMA foreign_keys = ON");

    std::mt19937_64 rng(std::random_device{}());
    exec(db, "BEGIN IMMEDIATE");
    std::vector<std::string> schema;
    try {
        schema = read_schema_files(schema_dir);
    } catch (const std::exception& e) {
        die(e.what());
    }
    for (const std::string& sql : schema) exec(db, sql.c_str());
    std::vector<std::string> resources;
    {
        sqlite3_stmt* ins =
            prepare(db,
                    "INSERT INTO resources (id, resource_type, name, attributes, created_us)"
                    " VALUES (?, 'Car', ?, '{\"seats\":5}', ?)");
        for (int r = 0; r < resource_count; ++r) {
            resources.push_back(new_uuid(rng));
            const std::string name = "ceiling-car-" + std::to_string(r);
            sqlite3_bind_text(ins, 1, resources.back().c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 2, name.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(ins, 3, now_us());
            check(db, sqlite3_step(ins), "insert resource");
            sqlite3_reset(ins);
        }
        sqlite3_finalize(ins);
    }
    exec(db, "COMMIT");

    sqlite3_stmt* begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt* commit = prepare(db, "COMMIT");
    sqlite3_stmt* exists = prepare(db, "SELECT seq FROM resources WHERE id = ?");
    sqlite3_stmt* seek = prepare(db,
                                 "SELECT id, from_us, to_us, seq FROM allocations"
                                 " WHERE resource_id = ? AND to_us > ? AND id <> ?"
                                 " ORDER BY to_us LIMIT 1");
    sqlite3_stmt* insert = prepare(
        db,
        "INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type, description,"
        " dump, created_us, blocked_from_us, blocked_to_us)"
        " VALUES (?1, ?2, ?3, ?4, 'booking', 'bench', NULL, ?5, ?3, ?4)");

    const std::int64_t base_us = 4102444800LL * 1000000;  // 2100-01-01T00:00:00Z
    const std::int64_t minute_us = 60LL * 1000000;
    std::vector<double> latencies;
    latencies.reserve(100000);
    long long conflicts = 0;
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    const auto until = started + std::chrono::duration<double>(seconds);
    auto finished = started;
    long long n = 0;
    for (; n < max_count; ++n) {
        const auto t0 = clock::now();
        if (t0 >= until) break;
        const std::string& resource = resources[n % resources.size()];
        const std::string id = new_uuid(rng);
        const std::int64_t from = base_us + n * minute_us, to = from + minute_us;

        check(db, sqlite3_step(begin), "BEGIN IMMEDIATE");
        sqlite3_reset(begin);

        sqlite3_bind_text(exists, 1, resource.c_str(), -1, SQLITE_STATIC);
        if (sqlite3_step(exists) != SQLITE_ROW) die("resource vanished");
        sqlite3_reset(exists);

        sqlite3_bind_text(seek, 1, resource.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(seek, 2, from);
        sqlite3_bind_text(seek, 3, id.c_str(), -1, SQLITE_STATIC);
        const int found = sqlite3_step(seek);
        check(db, found, "overlap seek");
        if (found == SQLITE_ROW && sqlite3_column_int64(seek, 1) < to) ++conflicts;
        sqlite3_reset(seek);

        sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 2, resource.c_str(), -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 3, from);
        sqlite3_bind_int64(insert, 4, to);
        sqlite3_bind_int64(insert, 5, now_us());
        check(db, sqlite3_step(insert), "insert allocation");
        sqlite3_reset(insert);

        check(db, sqlite3_step(commit), "COMMIT");
        sqlite3_reset(commit);

        finished = clock::now();
        latencies.push_back(std::chrono::duration<double, std::micro>(finished - t0).count());
    }
    const double elapsed = std::chrono::duration<double>(finished - started).count();

    for (sqlite3_stmt* st : {begin, commit, exists, seek, insert}) sqlite3_finalize(st);
    sqlite3_close(db);

    if (latencies.empty()) die("no transaction completed");
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
        std::size_t rank = static_cast<std::size_t>(p * latencies.size() + 0.999999);
        rank = std::clamp<std::size_t>(rank, 1, latencies.size());
        return latencies[rank - 1];
    };
    double sum = 0;
    for (double l : latencies) sum += l;
    std::printf(
        "BENCH_JSON "
        "{\"requests\":%lld,\"duration_s\":%.3f,\"rps\":%.1f,\"ok\":%lld,\"non2xx\":%lld,"
        "\"samples\":%zu,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_"
        "us\":%.0f,"
        "\"mean_us\":%.1f}\n",
        n, elapsed, n / elapsed, n - conflicts, conflicts, latencies.size(), pct(0.50), pct(0.90),
        pct(0.99), pct(0.999), latencies.back(), sum / latencies.size());
    return conflicts == 0 ? 0 : 1;
}
