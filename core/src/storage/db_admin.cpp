// invsys/db_admin.hpp: the backend's backup and restore, by the URL's scheme.
#include <invsys/db_admin.hpp>
#include <stdexcept>

#include "storage/postgresql/backup.hpp"
#include "storage/sqlite/backup.hpp"

namespace invsys {
namespace {

bool is_sqlite(const std::string& url) { return url.rfind("sqlite:", 0) == 0; }
bool is_postgresql(const std::string& url) {
    return url.rfind("postgresql:", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

[[noreturn]] void unknown_backend() {
    throw std::runtime_error("the configured database is neither sqlite: nor postgresql:");
}

}  // namespace

backup_report backup_database(const config& cfg, const std::string& file) {
    if (file.empty()) throw std::runtime_error("no backup file named");
    if (is_sqlite(cfg.database))
        return backup_sqlite(cfg.database.substr(7), file, cfg.busy_timeout_ms);
    if (is_postgresql(cfg.database)) return backup_postgresql(cfg.database, file);
    unknown_backend();
}

backup_report restore_database(const config& cfg, const std::string& file) {
    if (file.empty()) throw std::runtime_error("no backup file named");
    if (is_sqlite(cfg.database)) return restore_sqlite(cfg.database.substr(7), file);
    if (is_postgresql(cfg.database)) return restore_postgresql(cfg.database, file);
    unknown_backend();
}

}  // namespace invsys
