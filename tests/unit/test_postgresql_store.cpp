// The PostgreSQL store against a real server: the store contract
// (store_contract.hpp) and what is PostgreSQL's own (URLs, the exclusion
// constraint as the last word on overlaps, SQLSTATE mapping, retries,
// lock timeouts, lost connections).
//
// The server: INVSYS_TEST_POSTGRESQL_URL names a database on it (CTest
// starts a private cluster with scripts/pg-test-cluster.sh and sets it).
// Every case is tagged [.postgresql]: hidden, so a bare run of the test
// binary leaves them out; select them with "[postgresql]". A selected case
// without the variable fails, it does not skip.
//
// Isolation: each fixture is a schema of its own on that database (the
// store's connections set search_path to it), dropped afterwards. A plain
// libpq connection stands in for other programs writing to the database.
#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "error/error.hpp"
#include "model.hpp"
#include "storage/common/failure.hpp"
#include "storage/postgresql/connection.hpp"
#include "storage/postgresql/migrations.hpp"
#include "storage/postgresql/sql.hpp"
#include "storage/postgresql/store.hpp"
#include "storage/store.hpp"
#include "store_test_support.hpp"

using namespace invsys;
using namespace invsys::store_test;

namespace {

// --- the server ------------------------------------------------------------

using parameters = std::map<std::string, std::string>;

std::string test_url() {
    const char* url = std::getenv("INVSYS_TEST_POSTGRESQL_URL");
    if (url == nullptr || *url == '\0') {
        FAIL(
            "INVSYS_TEST_POSTGRESQL_URL is not set: run these through ctest, or start a server "
            "with scripts/pg-test-cluster.sh start DIR and export the URL it prints with "
            "scripts/pg-test-cluster.sh url DIR");
    }
    return url;
}

// The connection parameters a URL (as store::open takes it) stands for.
parameters parameters_of(const std::string& url) {
    std::string conninfo = url;
    if (url.starts_with("postgresql:") && !url.starts_with("postgresql://"))
        conninfo = url.substr(std::string("postgresql:").size());
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (options == nullptr) {
        const std::string message = error ? error : "out of memory";
        PQfreemem(error);
        throw std::runtime_error("cannot parse the test database URL: " + message);
    }
    parameters out;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (o->val != nullptr && *o->val != '\0') out[o->keyword] = o->val;
    }
    PQconninfoFree(options);
    return out;
}

// A keyword/value connection string: every value single-quoted, with
// quotes and backslashes escaped.
std::string conninfo_of(const parameters& p) {
    std::string out;
    for (const auto& [key, value] : p) {
        if (!out.empty()) out += ' ';
        out += key + "='";
        for (char c : value) {
            if (c == '\'' || c == '\\') out += '\\';
            out += c;
        }
        out += '\'';
    }
    return out;
}

// Percent-encodes a URI component.
std::string uri_encoded(const std::string& text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The same parameters as a postgresql:// URI.
std::string uri_of(parameters p) {
    std::string uri = "postgresql://";
    if (p.count("user")) uri += uri_encoded(p["user"]) + "@";
    if (p.count("host")) uri += uri_encoded(p["host"]);
    if (p.count("port")) uri += ":" + p["port"];
    uri += "/" + uri_encoded(p.count("dbname") ? p["dbname"] : "");
    char separator = '?';
    for (const auto& [key, value] : p) {
        if (key == "user" || key == "host" || key == "port" || key == "dbname") continue;
        uri += separator + key + "=" + uri_encoded(value);
        separator = '&';
    }
    return uri;
}

struct sql_failure : std::runtime_error {
    std::string sqlstate;
    sql_failure(const std::string& message, std::string state)
        : std::runtime_error(message), sqlstate(std::move(state)) {}
};

// A plain libpq connection, as another program would have.
class raw_connection {
  public:
    explicit raw_connection(const parameters& p) : conn_(PQconnectdb(conninfo_of(p).c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string message = PQerrorMessage(conn_);
            PQfinish(conn_);
            throw std::runtime_error("cannot connect to the test database: " + message);
        }
        exec("SET client_min_messages = warning");
    }
    ~raw_connection() { PQfinish(conn_); }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    // Every row, each column as text (NULL as "NULL"). Throws sql_failure.
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        const ExecStatusType status = PQresultStatus(result);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            sql_failure failure(sql + ": " + PQresultErrorMessage(result), state ? state : "");
            PQclear(result);
            throw failure;
        }
        std::vector<std::vector<std::string>> out;
        for (int r = 0; r < PQntuples(result); ++r) {
            std::vector<std::string> row;
            for (int c = 0; c < PQnfields(result); ++c)
                row.emplace_back(PQgetisnull(result, r, c) ? "NULL" : PQgetvalue(result, r, c));
            out.push_back(std::move(row));
        }
        PQclear(result);
        return out;
    }
    void exec(const std::string& sql) { rows(sql); }
    std::string value(const std::string& sql) { return rows(sql).at(0).at(0); }
    // The SQLSTATE `sql` fails with, "" when it succeeds.
    std::string sqlstate_of(const std::string& sql) {
        try {
            exec(sql);
            return "";
        } catch (const sql_failure& e) {
            return e.sqlstate;
        }
    }
    // Sends `sql` without waiting for its result (see finish()).
    void send(const std::string& sql) {
        if (PQsendQuery(conn_, sql.c_str()) != 1)
            throw std::runtime_error(std::string("PQsendQuery: ") + PQerrorMessage(conn_));
    }
    // Waits for what send() sent: its SQLSTATE, "" when it succeeded.
    std::string finish() {
        std::string state;
        while (PGresult* result = PQgetResult(conn_)) {
            if (PQresultStatus(result) == PGRES_FATAL_ERROR) {
                const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE);
                state = s ? s : "?";
            }
            PQclear(result);
        }
        return state;
    }
    int backend_pid() const { return PQbackendPID(conn_); }

  private:
    PGconn* conn_;
};

std::string new_schema_name() {
    static std::atomic<int> counter{0};
    static const unsigned salt = std::random_device{}();
    return "invsys_test_" + std::to_string(::getpid()) + "_" + std::to_string(salt % 100000) + "_" +
           std::to_string(++counter);
}

// btree_gist, once per database, in public: a schema that created it
// would take it along when dropped. Under the migrations' own lock, so
// that it never races with one. (That a migration creates it on a new
// database is a case of its own.)
void ensure_btree_gist(const parameters& p) {
    static std::once_flag once;
    std::call_once(once, [&] {
        raw_connection raw(p);
        raw.exec("BEGIN");
        raw.exec("SELECT pg_advisory_xact_lock(" + std::to_string(postgresql_migration_lock_key) +
                 ")");
        raw.exec("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public");
        raw.exec("COMMIT");
    });
}

// The contract's fixture: a store on a new, empty schema.
struct postgresql_backend {
    static constexpr const char* name = "postgresql";

    parameters server = parameters_of(test_url());
    std::string schema = new_schema_name();
    // The store's connections: search_path is the schema, and the
    // application name too, to find them in pg_stat_activity.
    parameters mine;
    std::string url;
    std::unique_ptr<store> db;

    explicit postgresql_backend(store_options options = {}, bool migrated = true) {
        ensure_btree_gist(server);
        raw_connection(server).exec("CREATE SCHEMA " + schema);
        mine = server;
        mine["options"] = "-csearch_path=" + schema;
        mine["application_name"] = schema;
        url = "postgresql:" + conninfo_of(mine);
        if (!migrated) return;
        db = open(options);
        db->migrate();
    }
    ~postgresql_backend() {
        db.reset();
        try {
            raw_connection(server).exec("DROP SCHEMA " + schema + " CASCADE");
        } catch (...) {
        }
    }
    postgresql_backend(const postgresql_backend&) = delete;
    postgresql_backend& operator=(const postgresql_backend&) = delete;

    std::unique_ptr<store> open(store_options options = {}) const {
        return store::open(url, options);
    }
    std::unique_ptr<store> another(store_options options = {}) const {
        auto other = open(options);
        other->migrate();
        return other;
    }
    // A plain connection whose search path is the schema.
    std::unique_ptr<raw_connection> raw() const {
        parameters p = mine;
        p["application_name"] = schema + "_raw";
        return std::make_unique<raw_connection>(p);
    }
    long long count_rows(const std::string& table) const {
        return std::stoll(raw()->value("SELECT count(*) FROM " + table));
    }
    std::vector<std::pair<long long, long long>> recorded_migrations() const {
        std::vector<std::pair<long long, long long>> out;
        for (const auto& row :
             raw()->rows("SELECT version, applied_us FROM schema_migrations ORDER BY version"))
            out.emplace_back(std::stoll(row[0]), std::stoll(row[1]));
        return out;
    }
    static std::vector<int> migration_versions() {
        std::vector<int> out;
        for (const auto& step : postgresql_migrations()) out.push_back(step.version);
        return out;
    }
    // Closes, from the server's side, every connection of the store(s).
    void terminate_store_connections() const {
        raw_connection(server).exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
            schema + "'");
    }
};

using fresh_store = postgresql_backend;

// SQL text for an allocation row written by hand.
std::string allocation_values(const std::string& id, const std::string& resource_id,
                              std::int64_t from, std::int64_t to) {
    // No buffers: the blocked range is the allocation's own.
    std::string range = std::to_string(from);
    range.append(", ").append(std::to_string(to));
    std::string values = "('";
    values.append(id).append("', '").append(resource_id).append("', ");
    values.append(range).append(", 'booking', 0, ").append(range).append(")");
    return values;
}
constexpr const char* allocation_columns =
    "INSERT INTO allocations (id, resource_id, from_us, to_us, allocation_type, created_us,"
    " blocked_from_us, blocked_to_us) VALUES ";

}  // namespace

#define INVSYS_STORE_CONTRACT_BACKEND postgresql_backend
#define INVSYS_STORE_CONTRACT_TAG "[.postgresql]"
#include "store_contract.hpp"
#include "store_contract_retry.hpp"

// --- opening ---------------------------------------------------------------

TEST_CASE("a database URL is logged without its password", "[store][open]") {
    struct row {
        const char* url;
        const char* logged;
    };
    const row r = GENERATE(values<row>({
        {"postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"},
        {"postgres://u:secret@h/db?sslmode=require&password=secret",
         "postgres://u:***@h/db?sslmode=require&password=***"},
        {"postgresql://u@h/db?password=secret&sslpassword=secret",
         "postgresql://u@h/db?password=***&sslpassword=***"},
        {"postgresql://u@%2Ftmp%2Fx/db?application_name=a@b",
         "postgresql://u@%2Ftmp%2Fx/db?application_name=a@b"},
        {"postgresql://h/db", "postgresql://h/db"},
        {"postgresql:host=h password=secret dbname=d", "postgresql:host=h password=*** dbname=d"},
        {R"(postgresql:password = 'se cr\'et' host=h)", "postgresql:password = *** host=h"},
        {"postgresql:host=h sslpassword=secret", "postgresql:host=h sslpassword=***"},
        {"sqlite:/tmp/password=secret.db", "sqlite:/tmp/password=secret.db"},
    }));
    CAPTURE(r.url);
    CHECK(store::redacted_url(r.url) == r.logged);
}

TEST_CASE("a PostgreSQL URL may be a URI or a keyword/value connection string",
          "[.postgresql][store][open]") {
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const std::string uri = uri_of(s.mine);
    for (const std::string& url : {
             uri,
             "postgres://" + uri.substr(std::string("postgresql://").size()),
             "postgresql:" + conninfo_of(s.mine),
         }) {
        CAPTURE(url);
        auto db = store::open(url, {});
        CHECK(db->backend() == "postgresql");
        CHECK(db->find_resource("Car", car.id));
    }
}

TEST_CASE("a server that cannot be reached is refused at open, without quoting the URL",
          "[.postgresql][store][open]") {
    // Port 1 on loopback: refused at once. The password must not leak.
    const std::string url =
        GENERATE(as<std::string>{},
                 "postgresql://invsys:sekrit-password@127.0.0.1:1/invsys?connect_timeout=2",
                 "postgresql:host=127.0.0.1 port=1 password=sekrit-password connect_timeout=2");
    try {
        store::open(url, {});
        FAIL("opened an unreachable server");
    } catch (const std::runtime_error& e) {
        CAPTURE(e.what());
        CHECK(std::string(e.what()).find("sekrit") == std::string::npos);
        CHECK(std::string(e.what()).find("postgresql") != std::string::npos);
    }
}

TEST_CASE("opened lazily, an unreachable server gives unavailable on use, not at open",
          "[.postgresql][store][open]") {
    // A worker restarted during an outage (service_options): it must start.
    store_options options;
    options.open_lazily = true;
    std::unique_ptr<store> db;
    REQUIRE_NOTHROW(
        db = store::open("postgresql://invsys@127.0.0.1:1/invsys?connect_timeout=2", options));
    for (int use = 0; use < 2; ++use) {  // and again: nothing is left broken
        try {
            db->ping();
            FAIL("a ping reached port 1");
        } catch (const error& e) {
            CHECK(e.code() == error_code::unavailable);
            CHECK(retry_after_of(e) == "1");
        }
    }
    CHECK_THROWS_AS(db->find_resource("Car", "00000000-0000-4000-8000-000000000000"), error);
}

TEST_CASE("opened lazily, a reachable server serves from the first use",
          "[.postgresql][store][open]") {
    store_options options;
    options.open_lazily = true;
    fresh_store s(options);
    const resource car = make_resource("Car", "Lazy1");
    CHECK_NOTHROW(s.db->insert_resource(car));
    CHECK(s.db->find_resource("Car", car.id));
}

TEST_CASE("an empty PostgreSQL connection string is refused", "[.postgresql][store][open]") {
    const std::string url = GENERATE(as<std::string>{}, "postgresql:", "postgresql:   ");
    CAPTURE(url);
    REQUIRE_THROWS_AS(store::open(url, {}), std::runtime_error);
}

TEST_CASE("a migration on a new database creates btree_gist and the schema",
          "[.postgresql][store][migrations]") {
    const parameters server = parameters_of(test_url());
    const std::string database = new_schema_name();
    raw_connection(server).exec("CREATE DATABASE " + database);
    parameters p = server;
    p["dbname"] = database;
    {
        auto db = store::open("postgresql:" + conninfo_of(p), {});
        db->migrate();
        raw_connection raw(p);
        CHECK(raw.value("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'") == "1");
        CHECK(raw.value("SELECT count(*) FROM schema_migrations") ==
              std::to_string(postgresql_migrations().size()));
        const resource car = make_resource("Car", "Car1");
        db->insert_resource(car);
        db->insert_allocation(make_allocation(car.id, 0, 10));
        CHECK(error_from([&] { db->insert_allocation(make_allocation(car.id, 5, 15)); }).code() ==
              error_code::conflict);
    }
    raw_connection(server).exec("DROP DATABASE " + database + " WITH (FORCE)");
}

// --- the exclusion constraint ----------------------------------------------

TEST_CASE("an overlapping row written by direct SQL is refused by the database itself",
          "[.postgresql][store][constraint]") {
    struct row {
        const char* what;
        std::int64_t from, to;
        const char* sqlstate;  // "" when accepted
    };
    // Existing: [100, 200) and [300, open end).
    const row r = GENERATE(values<row>({
        {"overlapping the closed one", 150, 250, "23P01"},
        {"inside the closed one", 120, 130, "23P01"},
        {"open start reaching into it", open_start, 101, "23P01"},
        {"reaching into the open end", 250, 301, "23P01"},
        {"far inside the open end", 253402300799999999, open_end, "23P01"},
        {"open both ways", open_start, open_end, "23P01"},
        {"touching both", 200, 300, ""},
        {"open start touching", open_start, 100, ""},
        {"empty", 250, 250, "23514"},
        {"backwards", 260, 250, "22000"},  // tstzrange refuses it first
    }));
    CAPTURE(r.what);
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    s.db->insert_allocation(make_allocation(car.id, 100, 200));
    s.db->insert_allocation(make_allocation(car.id, 300, open_end));

    auto raw = s.raw();
    CHECK(raw->sqlstate_of(std::string(allocation_columns) +
                           allocation_values("by-hand", car.id, r.from, r.to)) == r.sqlstate);
    CHECK(s.count_rows("allocations") == (*r.sqlstate == '\0' ? 3 : 2));
}

TEST_CASE("moving a row by direct SQL onto another is refused, and blocked cannot be written",
          "[.postgresql][store][constraint]") {
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const allocation a = make_allocation(car.id, 100, 200);
    const allocation b = make_allocation(car.id, 200, 300);
    s.db->insert_allocation(a);
    s.db->insert_allocation(b);
    auto raw = s.raw();
    CHECK(raw->sqlstate_of("UPDATE allocations SET to_us = 201, blocked_to_us = 201 WHERE id = '" +
                           a.id + "'") == "23P01");
    CHECK(raw->sqlstate_of("UPDATE allocations SET to_us = 9223372036854775807,"
                           " blocked_to_us = 9223372036854775807 WHERE id = '" +
                           a.id + "'") == "23P01");
    // The blocked range holds the allocation (allocations_blocked_covers).
    CHECK(raw->sqlstate_of("UPDATE allocations SET to_us = 201 WHERE id = '" + a.id + "'") ==
          "23514");
    // blocked follows blocked_from_us and blocked_to_us only (a generated column).
    CHECK(raw->sqlstate_of("UPDATE allocations SET blocked = tstzrange(NULL, NULL) WHERE id = '" +
                           b.id + "'") == "428C9");
    CHECK(s.db->find_allocation(car.id, a.id)->to_us == 200);
}

TEST_CASE("open ends are unbounded range ends, and bounds are exact to the microsecond",
          "[.postgresql][store][constraint]") {
    struct row {
        std::int64_t from, to;
        bool lower_inf, upper_inf;
    };
    const row r = GENERATE(values<row>({
        {open_start, open_end, true, true},
        {open_start, 0, true, false},
        {1'700'000'000'123'457, open_end, false, true},
        {-62'135'596'800'000'000, -62'135'596'799'999'999, false, false},  // 0001-01-01
        {253'402'300'799'999'998, 253'402'300'799'999'999, false, false},  // 9999-12-31
        {-1, 1, false, false},
    }));
    CAPTURE(r.from, r.to);
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const allocation a = make_allocation(car.id, r.from, r.to);
    s.db->insert_allocation(a);
    auto raw = s.raw();
    const auto row = raw->rows(
        "SELECT lower_inf(blocked), upper_inf(blocked),"
        " coalesce(extract(epoch FROM lower(blocked)) * 1000000 = from_us, true),"
        " coalesce(extract(epoch FROM upper(blocked)) * 1000000 = to_us, true),"
        " isfinite(lower(blocked)) IS NOT FALSE AND isfinite(upper(blocked)) IS NOT FALSE"
        " FROM allocations WHERE id = '" +
        a.id + "'");
    REQUIRE(row.size() == 1);
    CHECK(row[0][0] == (r.lower_inf ? "t" : "f"));
    CHECK(row[0][1] == (r.upper_inf ? "t" : "f"));
    CHECK(row[0][2] == "t");
    CHECK(row[0][3] == "t");
    CHECK(row[0][4] == "t");  // never the timestamp 'infinity'
    const auto stored = s.db->find_allocation(car.id, a.id);
    REQUIRE(stored);
    CHECK(stored->from_us == r.from);
    CHECK(stored->to_us == r.to);
}

TEST_CASE("a conflict names rows that other programs wrote", "[.postgresql][store][constraint]") {
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    s.raw()->exec(std::string(allocation_columns) +
                  allocation_values("written-by-hand", car.id, 100, open_end));
    const error e = error_from([&] { s.db->insert_allocation(make_allocation(car.id, 0, 101)); });
    CHECK(e.code() == error_code::conflict);
    CHECK(e.conflicts == std::vector<std::string>{"written-by-hand"});
    CHECK(std::string(e.what()) == "allocation overlaps 1 existing allocation");
}

// --- query plans -----------------------------------------------------------

namespace {

// SOCI's rewrite of :name parameters to $n (one number per name here).
std::string positional(const std::string& sql, int& count) {
    std::vector<std::string> names;
    std::string out;
    bool quoted = false;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (c == '\'') quoted = !quoted;
        if (quoted || c != ':' || i + 1 >= sql.size() || !std::isalpha(sql[i + 1])) {
            out += c;
            continue;
        }
        std::size_t end = i + 1;
        while (end < sql.size() && (std::isalnum(sql[end]) || sql[end] == '_')) ++end;
        const std::string name = sql.substr(i + 1, end - i - 1);
        auto at = std::find(names.begin(), names.end(), name);
        if (at == names.end()) at = names.insert(names.end(), name);
        out += '$';
        out += std::to_string(at - names.begin() + 1);
        i = end - 1;
    }
    count = static_cast<int>(names.size());
    return out;
}

}  // namespace

TEST_CASE("the hot queries can use an index and never sort", "[.postgresql][store][plan]") {
    struct row {
        const char* name;
        const char* sql;
        const char* index;  // expected in the plan
        bool sorts;         // sorts what the index finds
        // Another index as good for the planner of an empty, never analysed
        // table (its row estimate follows the row width, which any new
        // column changes).
        const char* or_index = nullptr;
    };
    const row r = GENERATE(values<row>({
        // Only after a refusal; sorts the allocations in the way (GiST
        // returns them unordered).
        {"conflicting ids", postgresql_sql::overlapping, "allocations_no_overlap", true,
         "allocations_by_start"},
        {"window seek", postgresql_sql::first_ending_after, "allocations_by_end", false},
        {"current allocations", postgresql_sql::ending_after, "allocations_by_end", false},
        {"allocation listing", postgresql_sql::list_allocations, "allocations_by_start", false},
        {"resource listing", postgresql_sql::list_resources, "resources_by_type", false},
        {"name check", postgresql_sql::name_holder, "resources_resource_type_name_key", false},
        {"allocation by id", postgresql_sql::find_allocation, "allocations_id_key", false,
         "allocations_no_overlap"},
        {"booking's resource lock", postgresql_sql::insert_allocation, "resources_id_key", false},
        {"rescheduling's overlap test", postgresql_sql::update_allocation, "allocations_no_overlap",
         false},
        {"renaming's name test", postgresql_sql::update_resource,
         "resources_resource_type_name_key", false},
    }));
    CAPTURE(r.name);
    fresh_store s;
    auto raw = s.raw();
    // Whether an index can serve the query, not what the planner picks for
    // an empty table.
    raw->exec("SET enable_seqscan = off");
    int parameters = 0;
    raw->exec(std::string("PREPARE hot AS ") + positional(r.sql, parameters));
    std::string arguments;
    for (int i = 0; i < parameters; ++i) arguments += (i == 0 ? "'0'" : ", '0'");
    std::string plan;
    for (const auto& step : raw->rows("EXPLAIN (COSTS OFF) EXECUTE hot(" + arguments + ")"))
        plan += step[0] + "\n";
    CAPTURE(plan);
    CHECK((plan.find(r.index) != std::string::npos ||
           (r.or_index != nullptr && plan.find(r.or_index) != std::string::npos)));
    CHECK(plan.find("Seq Scan") == std::string::npos);
    if (!r.sorts) CHECK(plan.find("Sort") == std::string::npos);
}

// --- SQLSTATE mapping --------------------------------------------------------

TEST_CASE("PostgreSQL errors map to error by their exact SQLSTATE",
          "[.postgresql][store][errors]") {
    struct row {
        const char* sqlstate;
        error_code code;
        storage_failure failure;
    };
    const row r = GENERATE(values<row>({
        {"23P01", error_code::conflict, storage_failure::exclusion_violation},
        {"23505", error_code::conflict, storage_failure::unique_violation},
        {"23503", error_code::internal, storage_failure::foreign_key_violation},
        {"23514", error_code::internal, storage_failure::other},  // check_violation
        {"23502", error_code::internal, storage_failure::other},  // not_null_violation
        {"40P01", error_code::unavailable, storage_failure::retryable},
        {"40001", error_code::unavailable, storage_failure::retryable},
        {"55P03", error_code::unavailable, storage_failure::busy},
        {"57014", error_code::unavailable, storage_failure::busy},
        {"57P01", error_code::unavailable, storage_failure::unavailable},
        {"57P03", error_code::unavailable, storage_failure::unavailable},
        {"08006", error_code::unavailable, storage_failure::unavailable},
        {"08001", error_code::unavailable, storage_failure::unavailable},
        {"53300", error_code::unavailable, storage_failure::unavailable},
        {"53100", error_code::insufficient_storage, storage_failure::storage_full},
        {"25006", error_code::unavailable, storage_failure::read_only},
        {"58030", error_code::unavailable, storage_failure::io_error},
        {"     ", error_code::unavailable, storage_failure::unavailable},
        {"42P01", error_code::internal, storage_failure::other},  // undefined_table
        {"22021", error_code::internal, storage_failure::other},
    }));
    CAPTURE(r.sqlstate);
    const soci::postgresql_soci_error soci_failure("test", r.sqlstate);
    try {
        throw soci_failure;
    } catch (...) {
        CHECK(classify_postgresql_failure() == r.failure);
    }
    const error mapped = error_from([&] {
        try {
            throw soci_failure;
        } catch (...) {
            rethrow_as_error("test", &classify_postgresql_failure);
        }
    });
    CHECK(mapped.code() == r.code);
    if (r.code == error_code::unavailable || r.code == error_code::insufficient_storage) {
        CHECK(retry_after_of(mapped) == "1");
    }
}

// --- concurrency -----------------------------------------------------------

TEST_CASE("sixteen stores (sixteen processes) racing for one slot: exactly one wins",
          "[.postgresql][store][concurrency]") {
    fresh_store s;
    std::vector<std::unique_ptr<store>> stores;
    store_options one;
    one.connections = 1;
    for (int i = 0; i < 16; ++i) stores.push_back(s.open(one));
    for (int round = 0; round < 3; ++round) {
        const resource car = make_resource("Car", "Car" + std::to_string(round));
        s.db->insert_resource(car);
        const race_result result =
            race_for_one_slot([&](int i) -> store& { return *stores[i]; }, car.id, 16);
        CHECK(result.won == 1);
        CHECK(result.refused == 15);
        CHECK(result.other == 0);
        CHECK(s.raw()->value("SELECT count(*) FROM allocations WHERE resource_id = '" + car.id +
                             "'") == "1");
    }
}

TEST_CASE("a deadlock is retried: the store's insert succeeds once the cycle is broken",
          "[.postgresql][store][concurrency][retry]") {
    // Another program holds [0, 10) uncommitted; the store's [5, 20) waits
    // for it; the program then inserts [15, 25), which waits for the
    // store's row: a cycle. The store's backend, waiting longer, hits
    // deadlock_timeout first and is the victim (40P01); the program's
    // insert then goes through. The store tries again, waits again, and
    // succeeds when the program rolls back.
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    auto other = s.raw();
    other->exec("BEGIN");
    other->exec(std::string(allocation_columns) + allocation_values("x", car.id, 0, 10));

    const allocation mine = make_allocation(car.id, 5, 20);
    std::atomic<bool> done{false};
    std::string failure;
    std::thread writer([&] {
        try {
            s.db->insert_allocation(mine);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        done = true;
    });
    // Wait until the store's insert waits on our transaction.
    auto watcher = s.raw();
    const std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                s.schema + "' AND wait_event_type = 'Lock'";
    for (int i = 0; i < 500 && watcher->value(waiting) == "0"; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(watcher->value(waiting) == "1");

    other->send(std::string(allocation_columns) + allocation_values("z", car.id, 15, 25));
    CHECK(other->finish() == "");  // the store's attempt was the victim
    CHECK_FALSE(done);             // and it is waiting again
    other->exec("ROLLBACK");
    writer.join();
    CHECK(failure == "");
    CHECK(s.db->find_allocation(car.id, mine.id));
}

TEST_CASE("a row lock held by another program past the busy timeout gives unavailable",
          "[.postgresql][store][concurrency][busy]") {
    store_options options;
    options.busy_timeout_ms = 150;
    fresh_store s(options);
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);

    auto other = s.raw();
    other->exec("BEGIN");
    other->exec("SELECT * FROM resources WHERE id = '" + car.id + "' FOR UPDATE");
    const error e = error_from([&] { s.db->insert_allocation(make_allocation(car.id, 0, 10)); });
    CHECK(e.code() == error_code::unavailable);
    CHECK(retry_after_of(e) == "1");
    CHECK(std::string(e.what()) == "database is busy");
    // Readers are not held up.
    CHECK(s.db->find_resource("Car", car.id));
    other->exec("ROLLBACK");
    CHECK_NOTHROW(s.db->insert_allocation(make_allocation(car.id, 0, 10)));
}

TEST_CASE("connections closed by the server give unavailable, then the store reconnects",
          "[.postgresql][store][connections]") {
    store_options options;
    options.connections = 3;
    fresh_store s(options);
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    // Three connections open and idle.
    race_for_one_slot([&](int) -> store& { return *s.db; }, car.id, 3);
    s.terminate_store_connections();

    int unavailable = 0;
    bool answered = false;
    for (int i = 0; i < 3 && !answered; ++i) {
        try {
            answered = s.db->find_resource("Car", car.id).has_value();
        } catch (const error& e) {
            CHECK(e.code() == error_code::unavailable);
            CHECK(retry_after_of(e) == "1");
            ++unavailable;
        }
    }
    CHECK(answered);
    CHECK(unavailable <= 1);  // one failure drops every idle connection
    CHECK_NOTHROW(s.db->ping());
    CHECK_NOTHROW(s.db->insert_allocation(make_allocation(car.id, 5000, 6000)));
}

TEST_CASE("a ping to a server that is gone gives unavailable",
          "[.postgresql][store][connections]") {
    fresh_store s;
    s.terminate_store_connections();
    // The first use finds the connection closed; the next one reconnects.
    try {
        s.db->ping();
    } catch (const error& e) {
        CHECK(e.code() == error_code::unavailable);
    }
    CHECK_NOTHROW(s.db->ping());
}

// --- text PostgreSQL cannot hold -------------------------------------------

TEST_CASE("text with a NUL character is refused, never cut short", "[.postgresql][store][text]") {
    fresh_store s;
    const resource car = make_resource("Car", "Car1");
    s.db->insert_resource(car);
    const std::string with_nul("a\0b", 3);

    allocation a = make_allocation(car.id, 0, 10);
    a.description = with_nul;
    error e = error_from([&] { s.db->insert_allocation(a); });
    CHECK(e.code() == error_code::invalid);
    REQUIRE(e.errors.size() == 1);
    CHECK(e.errors[0].field == "description");

    resource named = make_resource("Car", with_nul);
    e = error_from([&] { s.db->insert_resource(named); });
    CHECK(e.code() == error_code::invalid);
    CHECK(s.count_rows("resources") == 1);
    CHECK(s.count_rows("allocations") == 0);

    // A key with a NUL names nothing (libpq would look up its prefix).
    CHECK_FALSE(s.db->find_resource("Car", car.id + std::string(1, '\0') + "x"));
    CHECK(error_from([&] {
              s.db->delete_resource("Car", car.id + std::string(1, '\0'), true, now);
          }).code() == error_code::not_found);
    CHECK(s.db->find_resource("Car", car.id));
}
