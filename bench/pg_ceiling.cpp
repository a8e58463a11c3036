// The raw PostgreSQL ceiling of the invsys benchmark, case (f) with
// BENCH_DATABASE=postgresql.
//
//   pg_ceiling --url URL --schema NAME --schema-dir DIR [--seconds S]
//              [--max-count N] [--resources R]
//
// libpq directly, one connection, synchronous_commit=on (checked), the
// service's own schema files (DIR: core/src/storage/postgresql/schema, every
// NNN_*.sql in order, as the service's migrations apply them; a build with
// -DINVSYS_SCHEMA_DIR="..." defaults to that) run in a fresh schema NAME of
// the database at URL (which must not exist; dropped at the end; btree_gist
// is expected in public, as scripts/pg-test-cluster.sh installs it: the
// schema's CREATE EXTENSION IF NOT EXISTS then leaves it there), and per
// booking the service's write, statement for statement
// (core/src/storage/postgresql/store.cpp insert_allocation,
// postgresql/sql.hpp insert_allocation): one statement in autocommit mode,
// so one transaction and one commit (one WAL flush) per booking:
//
//   WITH r AS (SELECT id FROM resources WHERE id = $1 FOR NO KEY UPDATE),
//   inserted AS (INSERT INTO allocations (...) SELECT ... FROM r
//       ON CONFLICT ON CONSTRAINT allocations_no_overlap DO NOTHING RETURNING 1)
//   SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM inserted)
//
// prepared once (PQprepare) and executed with text parameters, as the
// service's prepared statements. The overlap check is the exclusion
// constraint's GiST probe. Bookings are non-overlapping one-minute intervals
// from 2100, round-robin over R resources. It runs until S seconds have
// passed or N transactions are done, whichever comes first, and prints one
// line:
//   BENCH_JSON {"requests":..,"duration_s":..,"rps":..,"p50_us":..,"p99_us":..,...}
// Latency: steady_clock around each whole statement (round trip included).

#include <libpq-fe.h>

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

PGconn* conn = nullptr;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "pg_ceiling: %s\n", what.c_str());
    if (conn) PQfinish(conn);
    std::exit(1);
}

// Runs one statement without parameters; returns its result (caller clears).
PGresult* exec(const std::string& sql, ExecStatusType want = PGRES_COMMAND_OK) {
    PGresult* res = PQexec(conn, sql.c_str());
    if (PQresultStatus(res) != want) {
        std::string message = PQresultErrorMessage(res);
        PQclear(res);
        die(sql.substr(0, 120) + ": " + message);
    }
    return res;
}

void run(const std::string& sql) { PQclear(exec(sql)); }

std::string value(const std::string& sql) {
    PGresult* res = exec(sql, PGRES_TUPLES_OK);
    std::string v = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "";
    PQclear(res);
    return v;
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

// core/src/storage/postgresql/sql.hpp insert_allocation, :name -> $n.
const char* const insert_allocation =
    "WITH r AS (SELECT id FROM resources WHERE id = $1 FOR NO KEY UPDATE),"
    " inserted AS (INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type,"
    " description, dump, created_us, blocked_from_us, blocked_to_us)"
    " SELECT CAST($2 AS text), r.id, CAST($3 AS bigint), CAST($4 AS bigint),"
    " CAST($5 AS text), CAST($6 AS text), CAST($7 AS text),"
    " CAST($8 AS bigint), CAST($3 AS bigint), CAST($4 AS bigint) FROM r"
    " ON CONFLICT ON CONSTRAINT allocations_no_overlap DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM inserted)";

bool valid_identifier(const std::string& s) {
    if (s.empty() || s.size() > 60) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return s[0] >= 'a' && s[0] <= 'z';
}

}  // namespace

int main(int argc, char** argv) {
    std::string url, schema_name;
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
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value after " + arg);
            return argv[++i];
        };
        if (arg == "--url")
            url = next();
        else if (arg == "--schema")
            schema_name = next();
        else if (arg == "--schema-dir")
            schema_dir = next();
        else if (arg == "--seconds")
            seconds = std::atof(next().c_str());
        else if (arg == "--max-count")
            max_count = std::atoll(next().c_str());
        else if (arg == "--resources")
            resource_count = std::atoi(next().c_str());
        else
            die("unknown argument " + arg);
    }
    if (url.empty() || schema_name.empty() || schema_dir.empty())
        die("usage: pg_ceiling --url URL --schema NAME --schema-dir DIR [--seconds S] [--max-count "
            "N] [--resources R]");
    if (!valid_identifier(schema_name)) die("--schema: lower-case letters, digits and _ only");
    if (!(seconds > 0) || max_count < 1 || resource_count < 1)
        die("bad --seconds/--max-count/--resources");

    conn = PQconnectdb(url.c_str());
    if (PQstatus(conn) != CONNECTION_OK)
        die(std::string("cannot connect: ") + PQerrorMessage(conn));
    run("SET client_min_messages = warning");
    run("SET synchronous_commit = on");
    if (value("SHOW synchronous_commit") != "on") die("synchronous_commit=on did not hold");
    if (value("SHOW fsync") != "on") die("the server runs with fsync off");

    std::mt19937_64 rng(std::random_device{}());
    run("BEGIN");
    run("CREATE SCHEMA " + schema_name);  // fails when it exists: a fresh one
    run("SET LOCAL search_path = " + schema_name + ", public");
    std::vector<std::string> schema;
    try {
        schema = read_schema_files(schema_dir);
    } catch (const std::exception& e) {
        die(e.what());
    }
    // Several statements in one PQexec: the simple query protocol runs them all.
    for (const std::string& sql : schema) run(sql);
    std::vector<std::string> resources;
    for (int r = 0; r < resource_count; ++r) {
        resources.push_back(new_uuid(rng));
        const std::string name = "ceiling-car-" + std::to_string(r);
        const std::string created = std::to_string(now_us());
        const char* params[] = {resources.back().c_str(), name.c_str(), created.c_str()};
        PGresult* res =
            PQexecParams(conn,
                         "INSERT INTO resources (id, resource_type, name, attributes, created_us)"
                         " VALUES ($1, 'Car', $2, '{\"seats\":5}', CAST($3 AS bigint))",
                         3, nullptr, params, nullptr, nullptr, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            std::string message = PQresultErrorMessage(res);
            PQclear(res);
            die("insert resource: " + message);
        }
        PQclear(res);
    }
    run("COMMIT");
    run("SET search_path = " + schema_name + ", public");

    {
        PGresult* res = PQprepare(conn, "insert_allocation", insert_allocation, 8, nullptr);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            std::string message = PQresultErrorMessage(res);
            PQclear(res);
            die("prepare insert_allocation: " + message);
        }
        PQclear(res);
    }

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
        const std::string from_text = std::to_string(from), to_text = std::to_string(to),
                          created = std::to_string(now_us());
        const char* params[] = {resource.c_str(), id.c_str(), from_text.c_str(), to_text.c_str(),
                                "booking",        "bench",    nullptr,           created.c_str()};
        PGresult* res = PQexecPrepared(conn, "insert_allocation", 8, params, nullptr, nullptr, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            std::string message = PQresultErrorMessage(res);
            PQclear(res);
            die("insert allocation: " + message);
        }
        if (std::strcmp(PQgetvalue(res, 0, 0), "1") != 0) die("resource vanished");
        if (std::strcmp(PQgetvalue(res, 0, 1), "1") != 0) ++conflicts;
        PQclear(res);

        finished = clock::now();
        latencies.push_back(std::chrono::duration<double, std::micro>(finished - t0).count());
    }
    const double elapsed = std::chrono::duration<double>(finished - started).count();

    run("RESET search_path");
    run("DROP SCHEMA " + schema_name + " CASCADE");
    PQfinish(conn);
    conn = nullptr;

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
