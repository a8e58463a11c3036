// SQLite's side of invsys/db_admin.hpp.
#pragma once

#include <invsys/db_admin.hpp>
#include <string>

namespace invsys {

backup_report backup_sqlite(const std::string& db_path, const std::string& file,
                            unsigned busy_timeout_ms);
backup_report restore_sqlite(const std::string& db_path, const std::string& file);

}  // namespace invsys
