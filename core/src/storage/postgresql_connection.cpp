#ifdef INVSYS_HAVE_POSTGRESQL

#include "storage/postgresql_connection.hpp"

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

}  // namespace

postgresql_connection::postgresql_connection(const std::string& conninfo, unsigned lock_timeout_ms)
    : session_(*soci::factory_postgresql(), conninfo) {
    conn_ = static_cast<soci::postgresql_session_backend*>(session_.get_backend())->conn_;
    PQsetNoticeProcessor(conn_, &log_notice, nullptr);
    session_ << "SET client_min_messages = warning";
    session_ << "SET lock_timeout = " + std::to_string(lock_timeout_ms);
}

bool postgresql_connection::broken() const noexcept { return PQstatus(conn_) != CONNECTION_OK; }

bool postgresql_connection::idle() const noexcept {
    return PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
