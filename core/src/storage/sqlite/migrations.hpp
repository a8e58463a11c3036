// The SQLite backend's schema: sqlite/schema/NNN_*.sql, as the build
// embeds them. The store applies them with the common runner
// (common/migrations.hpp) inside its write transaction (BEGIN IMMEDIATE,
// under the write lock), so processes starting at once apply each version
// exactly once.
#pragma once

#include <vector>

#include "storage/common/migrations.hpp"

namespace invsys {

// Every migration, by increasing version.
const std::vector<migration>& sqlite_migrations();

}  // namespace invsys
