#include "storage/common/failure.hpp"

#include <exception>
#include <invsys/log.hpp>
#include <invsys/metrics.hpp>
#include <new>
#include <string>

namespace invsys {
namespace {

std::string what_is_in_flight() {
    try {
        throw;
    } catch (const std::exception& e) {
        // Includes soci_error raised by SOCI itself (bad binding, null
        // without indicator): bugs, not bad input.
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

void log_failure(std::string_view operation, const std::string& what) {
    std::string line = "storage: ";
    line.append(operation).append(": ").append(what);
    log_error(line);
}

}  // namespace

error database_unavailable() { return error(error_code::unavailable, "database unavailable"); }

error database_busy() { return error(error_code::unavailable, "database is busy"); }

error database_full() {
    return error(error_code::insufficient_storage, "the database's disk is full");
}

error database_read_only() {
    return error(error_code::unavailable, "the database cannot be written (read-only)");
}

error database_io_error() {
    return error(error_code::unavailable, "the database's disk failed a read or write");
}

void rethrow_as_error(std::string_view operation, failure_classifier classify) {
    try {
        throw;
    } catch (const error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (...) {
        const storage_failure failure = classify();
        if (failure == storage_failure::busy || failure == storage_failure::retryable ||
            failure == storage_failure::unavailable || failure == storage_failure::other ||
            failure == storage_failure::foreign_key_violation)
            metrics::count_database_error();
        switch (failure) {
            case storage_failure::busy:
            case storage_failure::retryable:
                throw database_busy();
            case storage_failure::unavailable:
                log_failure(operation, what_is_in_flight());
                throw database_unavailable();
            case storage_failure::storage_full:
                log_failure(operation, what_is_in_flight());
                throw database_full();
            case storage_failure::read_only:
                log_failure(operation, what_is_in_flight());
                throw database_read_only();
            case storage_failure::io_error:
                log_failure(operation, what_is_in_flight());
                throw database_io_error();
            case storage_failure::unique_violation:
                throw error(error_code::conflict,
                            "a resource of this type with this name exists already");
            case storage_failure::exclusion_violation:
                throw error(error_code::conflict, "allocation overlaps an existing allocation");
            case storage_failure::foreign_key_violation:
            case storage_failure::other:
                break;
        }
        log_failure(operation, what_is_in_flight());
        // The detail reaches clients: it names no table, statement or path.
        throw error(error_code::internal, "database error");
    }
}

}  // namespace invsys
