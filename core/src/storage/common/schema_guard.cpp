#include "storage/common/schema_guard.hpp"

#include <soci/soci.h>

#include <algorithm>

#include "error/error.hpp"

namespace invsys {

std::optional<schema_guard_row> read_schema_guard(soci::session& sql,
                                                  const std::set<long long>& recorded) {
    if (recorded.count(schema_guard_version) == 0) return std::nullopt;
    schema_guard_row row;
    soci::indicator ind = soci::i_null;
    sql << "SELECT schema_version, min_binary_schema FROM schema_guard WHERE singleton = 1",
        soci::into(row.schema_version, ind), soci::into(row.min_binary_schema);
    if (ind != soci::i_ok) return std::nullopt;
    return row;
}

std::optional<std::string> schema_refusal(const std::set<long long>& recorded,
                                          const std::optional<schema_guard_row>& guard, int known) {
    const long long newest = recorded.empty() ? 0 : *recorded.rbegin();
    const long long needed = guard ? guard->min_binary_schema : newest;
    if (needed <= known) return std::nullopt;
    const long long at = guard ? std::max<long long>(guard->schema_version, newest) : newest;
    return "schema guard: the database is at schema version " + std::to_string(at) +
           " and needs a binary that knows schema " + std::to_string(needed) +
           " or later; this binary knows schema " + std::to_string(known) +
           ": refusing to open it (upgrade invsys, or restore a backup made by this version)";
}

void refuse_newer_schema(soci::session& sql, const std::set<long long>& recorded, int known) {
    if (auto refusal = schema_refusal(recorded, read_schema_guard(sql, recorded), known))
        throw error(error_code::unavailable, *refusal);
}

void raise_schema_guard(soci::session& sql, int applied) {
    schema_guard_row row;
    sql << "SELECT schema_version, min_binary_schema FROM schema_guard WHERE singleton = 1",
        soci::into(row.schema_version), soci::into(row.min_binary_schema);
    const int version = std::max(row.schema_version, applied);
    const int min_binary = std::max(row.min_binary_schema, applied);
    sql << "UPDATE schema_guard SET schema_version = :version, min_binary_schema = :min_binary "
           "WHERE singleton = 1",
        soci::use(version, "version"), soci::use(min_binary, "min_binary");
}

}  // namespace invsys
