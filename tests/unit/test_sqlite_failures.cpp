// SQLite's disk failures map to 503/507 with Retry-After, never 500
// (sqlite/connection.cpp classify_sqlite_failure, common/failure.cpp).
#include <soci/sqlite3/soci-sqlite3.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "api/http.hpp"
#include "storage/common/failure.hpp"
#include "storage/sqlite/connection.hpp"
#include "store_test_support.hpp"

using namespace invsys;
using namespace invsys::store_test;

TEST_CASE("SQLite's disk failures are 503 or 507 with Retry-After", "[store][errors]") {
    struct row {
        int code;
        storage_failure failure;
        int status;
    };
    const row r = GENERATE(values<row>({
        {SQLITE_FULL, storage_failure::storage_full, 507},
        {SQLITE_READONLY, storage_failure::read_only, 503},
        {SQLITE_IOERR, storage_failure::io_error, 503},
        {SQLITE_IOERR | (3 << 8), storage_failure::io_error, 503},  // SQLITE_IOERR_WRITE
        {SQLITE_CANTOPEN, storage_failure::io_error, 503},
        {SQLITE_CORRUPT, storage_failure::io_error, 503},
        {SQLITE_BUSY, storage_failure::busy, 503},
        {SQLITE_MISUSE, storage_failure::other, 500},
    }));
    CAPTURE(r.code);
    const soci::sqlite3_soci_error failure("test", r.code);
    try {
        throw failure;
    } catch (...) {
        CHECK(classify_sqlite_failure() == r.failure);
    }
    const error mapped = error_from([&] {
        try {
            throw failure;
        } catch (...) {
            rethrow_as_error("test", &classify_sqlite_failure);
        }
    });
    CHECK(http_status(mapped.code()) == r.status);
    if (r.status != 500) CHECK(retry_after_of(mapped) == "1");
}

TEST_CASE("the overlap guard's refusal is an overlap conflict", "[store][errors]") {
    const soci::sqlite3_soci_error failure(
        "sqlite3_statement_backend::loadOne: allocation overlaps an existing allocation while "
        "executing \"INSERT ...\"",
        SQLITE_CONSTRAINT);
    try {
        throw failure;
    } catch (...) {
        CHECK(classify_sqlite_failure() == storage_failure::exclusion_violation);
    }
}
