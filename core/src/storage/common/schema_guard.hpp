// The schema guard (migration 007): a database says which schema it is at
// and the lowest schema a binary must know to open it, so that a binary
// older than the database refuses to start instead of writing with wrong
// assumptions. A binary "knows" the schema of its newest migration file.
//
// Before migration 007 there is no guard row: a database is then judged
// by the versions schema_migrations records (none above what the binary
// knows). From 007 on, the guard row decides: a later migration that older
// binaries can live with (a new index, say) may leave min_binary_schema
// where it was; today every run raises it to the newest version applied.
#pragma once

#include <optional>
#include <set>
#include <string>

namespace soci {
class session;
}

namespace invsys {

inline constexpr int schema_guard_version = 7;  // the migration that adds the guard

struct schema_guard_row {
    int schema_version = 0;
    int min_binary_schema = 0;
};

// The guard row, when `recorded` (schema_migrations' versions) says the
// table exists.
std::optional<schema_guard_row> read_schema_guard(soci::session& sql,
                                                  const std::set<long long>& recorded);

// Empty when a binary knowing schema `known` may open a database with
// these recorded versions and guard row; else the operator's message.
std::optional<std::string> schema_refusal(const std::set<long long>& recorded,
                                          const std::optional<schema_guard_row>& guard, int known);

// Throws error(unavailable) with schema_refusal's message, when there is one.
void refuse_newer_schema(soci::session& sql, const std::set<long long>& recorded, int known);

// After applying migrations up to `applied` (inside the same transaction):
// the guard row's versions raised to it.
void raise_schema_guard(soci::session& sql, int applied);

}  // namespace invsys
