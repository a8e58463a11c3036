#ifdef INVSYS_HAVE_POSTGRESQL

#include "storage/postgresql_migrations.hpp"

#include <soci/soci.h>

#include <invsys/log.hpp>
#include <set>
#include <string>

namespace invsys {

const std::vector<postgresql_migration>& postgresql_migrations() {
    static const std::vector<postgresql_migration> steps = {
        {1,
         {
             // The GiST operator class for `resource_id WITH =`. Trusted
             // since PostgreSQL 13: a database owner may create it.
             "CREATE EXTENSION IF NOT EXISTS btree_gist",
             // Microseconds since the epoch as a timestamptz, exactly (an
             // interval product goes through a double: split into whole
             // days and the microseconds of a day, both exact), computed on
             // `timestamp` so that the session's time zone cannot matter,
             // which is what makes it immutable. The open ends (the
             // smallest and largest bigint) are NULL: an unbounded range
             // end, not the timestamp 'infinity' (upper_inf() is false for
             // that).
             "CREATE FUNCTION invsys_instant(us bigint) RETURNS timestamptz"
             " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$"
             " SELECT CASE WHEN us = -9223372036854775808 OR us = 9223372036854775807 THEN NULL"
             " ELSE (timestamp 'epoch' + (us / 86400000000) * interval '1 day'"
             " + (us % 86400000000) * interval '1 microsecond') AT TIME ZONE 'UTC' END $$",
             // attributes is text, not jsonb: it keeps the canonical JSON
             // text byte for byte, as the API returns it.
             "CREATE TABLE resources ("
             " seq bigserial PRIMARY KEY,"
             " id text NOT NULL UNIQUE,"
             " resource_type text NOT NULL,"
             " name text NOT NULL,"
             " attributes text NOT NULL,"
             " created_us bigint NOT NULL,"
             " UNIQUE (resource_type, name))",
             // Listing one type in creation order.
             "CREATE INDEX resources_by_type ON resources (resource_type, seq)",
             // from_us and to_us are what the API reads and writes, exact
             // to the microsecond; period is derived from them and carries
             // the invariant: PostgreSQL itself refuses two overlapping
             // periods of one resource, whoever writes the rows. A NULL or
             // empty range would never conflict, hence NOT NULL and the
             // isempty check.
             "CREATE TABLE allocations ("
             " seq bigserial PRIMARY KEY,"
             " id text NOT NULL UNIQUE,"
             " resource_id text NOT NULL REFERENCES resources (id) ON DELETE CASCADE,"
             " from_us bigint NOT NULL,"
             " to_us bigint NOT NULL,"
             " period tstzrange NOT NULL GENERATED ALWAYS AS"
             " (tstzrange(invsys_instant(from_us), invsys_instant(to_us), '[)')) STORED,"
             " allocation_type text NOT NULL,"
             " description text,"
             " dump text,"
             " created_us bigint NOT NULL,"
             " CONSTRAINT allocations_ordered CHECK (from_us < to_us),"
             " CONSTRAINT allocations_period_not_empty CHECK (NOT isempty(period)),"
             " CONSTRAINT allocations_no_overlap"
             " EXCLUDE USING gist (resource_id WITH =, period WITH &&))",
             // Current allocations (delete), the listing window's seek and
             // the cascade's lookup by resource_id.
             "CREATE INDEX allocations_by_end ON allocations (resource_id, to_us)",
             // The listing order.
             "CREATE INDEX allocations_by_start ON allocations (resource_id, from_us, to_us, seq)",
         }},
    };
    return steps;
}

int apply_postgresql_migrations(soci::session& sql, std::int64_t now_us) {
    soci::transaction transaction(sql);
    const long long lock_key = postgresql_migration_lock_key;
    sql << "SELECT pg_advisory_xact_lock(:key)", soci::use(lock_key, "key");
    // Under the lock: a table another process created meanwhile is seen.
    sql << "CREATE TABLE IF NOT EXISTS schema_migrations ("
           "version integer PRIMARY KEY, applied_us bigint NOT NULL)";

    std::set<long long> applied;
    long long version = 0;
    soci::statement recorded =
        (sql.prepare << "SELECT version FROM schema_migrations", soci::into(version));
    recorded.execute();
    while (recorded.fetch()) applied.insert(version);

    int count = 0;
    for (const postgresql_migration& step : postgresql_migrations()) {
        if (applied.count(step.version) != 0) continue;
        for (std::string_view statement : step.statements) sql << std::string(statement);
        const long long step_version = step.version;
        const long long applied_us = now_us;
        sql << "INSERT INTO schema_migrations (version, applied_us) VALUES (:version, :applied_us)",
            soci::use(step_version, "version"), soci::use(applied_us, "applied_us");
        ++count;
    }
    transaction.commit();
    for (const postgresql_migration& step : postgresql_migrations()) {
        if (applied.count(step.version) == 0)
            log_info("storage: applied schema migration " + std::to_string(step.version));
    }
    return count;
}

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
