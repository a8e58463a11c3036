// Versioned schema changes of the SQLite backend. The caller runs
// apply_sqlite_migrations inside its write transaction (BEGIN IMMEDIATE,
// under the write lock), so processes starting at once apply each version
// exactly once.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

namespace invsys {

struct sqlite_migration {
    int version;
    // One SQL statement each: SOCI runs only the first of several.
    std::vector<std::string_view> statements;
};

// Every migration, by increasing version. A released step is never edited;
// a change is a new step.
const std::vector<sqlite_migration>& sqlite_migrations();

// Creates schema_migrations when missing and applies, in order, the
// versions it does not record, recording each with `now_us`. Returns how
// many were applied.
int apply_sqlite_migrations(soci::session& sql, std::int64_t now_us);

}  // namespace invsys
