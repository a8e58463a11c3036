#include "storage/error_mapping.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <invsys/log.hpp>
#include <new>
#include <string>

namespace invsys {
namespace {

// SQLite's own wording for the UNIQUE(resource_type, name) index. The
// writers check names before inserting, so this only fires if a write
// bypassed that check; the text is stable across SQLite 3 releases.
constexpr std::string_view duplicate_name_message =
    "UNIQUE constraint failed: resources.resource_type, resources.name";

[[noreturn]] void throw_internal(std::string_view operation, std::string_view what) {
    std::string line = "storage: ";
    line.append(operation).append(": ").append(what);
    log_error(line);
    // The detail reaches clients: it names no table, statement or path.
    throw api_error(error_code::internal, "database error");
}

}  // namespace

api_error database_busy() {
    api_error error(error_code::unavailable, "database is busy");
    error.retry_after_s = 1;
    return error;
}

void rethrow_as_api_error(std::string_view operation) {
    try {
        throw;
    } catch (const api_error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const soci::sqlite3_soci_error& e) {
        // SOCI 4.0.3 reports the primary result code (extended codes are
        // not enabled on its connections); mask anyway in case they are.
        const int primary = e.result() & 0xff;
        if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw database_busy();
        if (primary == SQLITE_CONSTRAINT &&
            std::string_view(e.what()).find(duplicate_name_message) != std::string_view::npos) {
            throw api_error(error_code::conflict,
                            "a resource of this type with this name exists already");
        }
        throw_internal(operation, e.what());
    } catch (const std::exception& e) {
        // Includes soci_error raised by SOCI itself (bad binding, null
        // without indicator): bugs, not bad input.
        throw_internal(operation, e.what());
    } catch (...) {
        throw_internal(operation, "unknown exception");
    }
}

}  // namespace invsys
