// The PostgreSQL backend's schema: postgresql/schema/NNN_*.sql, as the
// build embeds them. The store applies them with the common runner
// (common/migrations.hpp), all pending versions in one transaction that
// first takes a transaction-level advisory lock
// (postgresql_migration_lock_key), so processes starting at once apply each
// version exactly once, and a failed step leaves nothing behind. Tables go
// to the first schema of the search path.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/common/migrations.hpp"

namespace invsys {

// The pg_advisory_xact_lock key every invsys migration holds ("invsys" in
// ASCII). Advisory locks are per database.
inline constexpr std::int64_t postgresql_migration_lock_key = 0x696e76737973;

// Every migration, by increasing version.
const std::vector<migration>& postgresql_migrations();

}  // namespace invsys
