// PostgreSQL's side of invsys/db_admin.hpp: pg_dump and pg_restore.
#pragma once

#include <invsys/db_admin.hpp>
#include <string>

namespace invsys {

backup_report backup_postgresql(const std::string& url, const std::string& file);
backup_report restore_postgresql(const std::string& url, const std::string& file);

}  // namespace invsys
