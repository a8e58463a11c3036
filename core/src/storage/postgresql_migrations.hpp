// Versioned schema changes of the PostgreSQL backend, the same mechanism as
// SQLite's (sqlite_migrations.hpp) with PostgreSQL's own SQL. All pending
// versions are applied in one transaction that first takes a
// transaction-level advisory lock (migration_lock_key), so processes
// starting at once apply each version exactly once, and a failed step
// leaves nothing behind.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

namespace invsys {

struct postgresql_migration {
    int version;
    // One SQL statement each, without `:` (SOCI would read a parameter).
    std::vector<std::string_view> statements;
};

// The pg_advisory_xact_lock key every invsys migration holds ("invsys" in
// ASCII). Advisory locks are per database.
inline constexpr std::int64_t postgresql_migration_lock_key = 0x696e76737973;

// Every migration, by increasing version. A released step is never edited;
// a change is a new step.
const std::vector<postgresql_migration>& postgresql_migrations();

// In one transaction on `sql` (which must not be in one): takes the lock,
// creates schema_migrations when missing and applies, in order, the
// versions it does not record, recording each with `now_us`. Returns how
// many were applied. Tables go to the first schema of the search path.
int apply_postgresql_migrations(soci::session& sql, std::int64_t now_us);

}  // namespace invsys
