#ifdef INVSYS_HAVE_POSTGRESQL

#include "storage/postgresql/connection.hpp"

#include <soci/postgresql/soci-postgresql.h>

#include <invsys/log.hpp>
#include <string_view>

namespace invsys {
namespace {

// libpq prints the server's notices to stderr, our log, unformatted: route
// them through the log instead. client_min_messages keeps the routine ones
// ("relation ... already exists, skipping") from being sent at all.
void log_notice(void*, const char* message) {
    std::string_view text(message);
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    log_warn(std::string("storage: PostgreSQL says: ").append(text));
}

storage_failure classify(const std::string& state) {
    if (state == "23P01") return storage_failure::exclusion_violation;
    if (state == "23505") return storage_failure::unique_violation;
    if (state == "23503") return storage_failure::foreign_key_violation;
    if (state == "40P01" || state == "40001") return storage_failure::retryable;
    if (state == "55P03" ||  // lock_not_available: lock_timeout ran out
        state == "57014") {  // query_canceled: statement_timeout ran out
        return storage_failure::busy;
    }
    if (state == "53100") return storage_failure::storage_full;     // disk_full
    if (state == "25006") return storage_failure::read_only;        // read_only_sql_transaction
    if (state.starts_with("58")) return storage_failure::io_error;  // system error: io_error, …
    if (state.starts_with("08") ||                                  // connection exception
        state.starts_with("53") ||  // insufficient resources: too many connections, memory
        state == "57P01" || state == "57P02" || state == "57P03") {  // shutdown, starting up
        return storage_failure::unavailable;
    }
    // No SQLSTATE at all: libpq's own failure ("server closed the
    // connection unexpectedly", "no connection to the server").
    if (state.find_first_not_of(' ') == std::string::npos) return storage_failure::unavailable;
    return storage_failure::other;
}

}  // namespace

storage_failure classify_postgresql_failure() noexcept {
    try {
        throw;
    } catch (const soci::postgresql_soci_error& e) {
        try {
            return classify(e.sqlstate());
        } catch (...) {  // std::bad_alloc
        }
    } catch (...) {
    }
    return storage_failure::other;
}

postgresql_connection::postgresql_connection(const std::string& conninfo, unsigned lock_timeout_ms,
                                             unsigned statement_timeout_ms)
    : connection_base(*soci::factory_postgresql(), conninfo) {
    conn_ = static_cast<soci::postgresql_session_backend*>(session_.get_backend())->conn_;
    PQsetNoticeProcessor(conn_, &log_notice, nullptr);
    session_ << "SET client_min_messages = warning";
    session_ << "SET lock_timeout = " + std::to_string(lock_timeout_ms);
    if (statement_timeout_ms != 0) {
        session_ << "SET statement_timeout = " + std::to_string(statement_timeout_ms);
    }
}

int postgresql_connection::socket() const noexcept { return PQsocket(conn_); }

bool postgresql_connection::broken() const noexcept { return PQstatus(conn_) != CONNECTION_OK; }

bool postgresql_connection::reusable() noexcept {
    return !broken() && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

}  // namespace invsys

#else

#include "storage/postgresql/connection.hpp"

namespace invsys {

storage_failure classify_postgresql_failure() noexcept { return storage_failure::other; }

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
