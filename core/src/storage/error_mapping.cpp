#include "storage/error_mapping.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#ifdef INVSYS_HAVE_POSTGRESQL
#include <soci/postgresql/soci-postgresql.h>
#endif

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
    throw error(error_code::internal, "database error");
}

#ifdef INVSYS_HAVE_POSTGRESQL
postgresql_failure classify(const soci::postgresql_soci_error& e) {
    const std::string state = e.sqlstate();
    if (state == "23P01") return postgresql_failure::exclusion_violation;
    if (state == "23505") return postgresql_failure::unique_violation;
    if (state == "23503") return postgresql_failure::foreign_key_violation;
    if (state == "40P01" || state == "40001") return postgresql_failure::transient;
    if (state.starts_with("08") ||  // connection exception
        state.starts_with("53") ||  // insufficient resources: too many connections, disk full
        state == "57P01" || state == "57P02" || state == "57P03" ||  // shutdown, starting up
        state == "55P03" ||  // lock_not_available: lock_timeout ran out
        state == "57014") {  // query_canceled: statement_timeout ran out
        return postgresql_failure::unavailable;
    }
    // No SQLSTATE at all: libpq's own failure ("server closed the
    // connection unexpectedly", "no connection to the server").
    if (state.find_first_not_of(' ') == std::string::npos) return postgresql_failure::unavailable;
    return postgresql_failure::other;
}
#endif

}  // namespace

postgresql_failure current_postgresql_failure() noexcept {
#ifdef INVSYS_HAVE_POSTGRESQL
    try {
        throw;
    } catch (const soci::postgresql_soci_error& e) {
        return classify(e);
    } catch (...) {
    }
#endif
    return postgresql_failure::other;
}

error database_unavailable() { return error(error_code::unavailable, "database unavailable"); }

error database_busy() { return error(error_code::unavailable, "database is busy"); }

void rethrow_as_error(std::string_view operation) {
    try {
        throw;
    } catch (const error&) {
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
            throw error(error_code::conflict,
                            "a resource of this type with this name exists already");
        }
        throw_internal(operation, e.what());
#ifdef INVSYS_HAVE_POSTGRESQL
    } catch (const soci::postgresql_soci_error& e) {
        switch (classify(e)) {
            case postgresql_failure::exclusion_violation:
                throw error(error_code::conflict, "allocation overlaps an existing allocation");
            case postgresql_failure::unique_violation:
                throw error(error_code::conflict,
                                "a resource of this type with this name exists already");
            case postgresql_failure::transient:
                throw database_busy();
            case postgresql_failure::unavailable: {
                const std::string state = e.sqlstate();
                if (state == "55P03" || state == "57014") throw database_busy();
                log_error(std::string("storage: ").append(operation).append(": ").append(e.what()));
                throw database_unavailable();
            }
            case postgresql_failure::foreign_key_violation:
            case postgresql_failure::other:
                break;
        }
        throw_internal(operation, e.what());
#endif
    } catch (const std::exception& e) {
        // Includes soci_error raised by SOCI itself (bad binding, null
        // without indicator): bugs, not bad input.
        throw_internal(operation, e.what());
    } catch (...) {
        throw_internal(operation, "unknown exception");
    }
}

}  // namespace invsys
