#include "storage/sqlite_migrations.hpp"

#include <soci/soci.h>

#include <invsys/log.hpp>
#include <set>
#include <string>

namespace invsys {

const std::vector<sqlite_migration>& sqlite_migrations() {
    static const std::vector<sqlite_migration> steps = {
        {1,
         {
             "CREATE TABLE resources ("
             " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " id TEXT NOT NULL UNIQUE,"
             " resource_type TEXT NOT NULL,"
             " name TEXT NOT NULL,"
             " attributes TEXT NOT NULL,"
             " created_us INTEGER NOT NULL,"
             " UNIQUE (resource_type, name))",
             // Listing one type in creation order: the rowid (seq) ends
             // every SQLite index, so this one is ordered by seq per type.
             "CREATE INDEX resources_by_type ON resources (resource_type)",
             "CREATE TABLE allocations ("
             " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " id TEXT NOT NULL UNIQUE,"
             " resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,"
             " from_us INTEGER NOT NULL,"
             " to_us INTEGER NOT NULL,"
             " allocation_type TEXT NOT NULL,"
             " description TEXT,"
             " dump TEXT,"
             " created_us INTEGER NOT NULL,"
             " CHECK (from_us < to_us))",
             // The overlap seek (and the cascade's lookup by resource_id).
             "CREATE INDEX allocations_by_end ON allocations (resource_id, to_us)",
             // The listing order; seq is spelled out so the order does not
             // depend on the rowid that SQLite appends anyway.
             "CREATE INDEX allocations_by_start ON allocations (resource_id, from_us, to_us, seq)",
         }},
    };
    return steps;
}

int apply_sqlite_migrations(soci::session& sql, std::int64_t now_us) {
    sql << "CREATE TABLE IF NOT EXISTS schema_migrations ("
           "version INTEGER PRIMARY KEY, applied_us INTEGER NOT NULL)";

    std::set<long long> applied;
    long long version = 0;
    soci::statement recorded =
        (sql.prepare << "SELECT version FROM schema_migrations", soci::into(version));
    recorded.execute();
    while (recorded.fetch()) applied.insert(version);

    int count = 0;
    for (const sqlite_migration& step : sqlite_migrations()) {
        if (applied.count(step.version) != 0) continue;
        for (std::string_view statement : step.statements) sql << std::string(statement);
        const long long step_version = step.version;
        const long long applied_us = now_us;
        sql << "INSERT INTO schema_migrations (version, applied_us) VALUES (:version, :applied_us)",
            soci::use(step_version, "version"), soci::use(applied_us, "applied_us");
        log_info("storage: applied schema migration " + std::to_string(step.version));
        ++count;
    }
    return count;
}

}  // namespace invsys
