// Versioned schema changes, one runner for both backends. A backend's
// schema is its schema/NNN_<what>.sql files, embedded at build time
// (core/CMakeLists.txt; bench/ reads the same files); version NNN is
// recorded in schema_migrations when applied. A released file is never
// edited; a change is a new file.
//
// The backend supplies what differs: the schema_migrations DDL, and the
// transaction and lock that make processes starting at once apply each
// version exactly once (SQLite: the write lock and BEGIN IMMEDIATE;
// PostgreSQL: a transaction-level advisory lock).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace soci {
class session;
}

namespace invsys {

// One .sql file as the build embeds it.
struct schema_file {
    int version;       // NNN of NNN_<what>.sql
    const char* name;  // the file name, for messages
    const char* text;  // the file's content
};

struct migration {
    int version;
    // One SQL statement each (SOCI runs only the first of several), with
    // comments removed and white space outside quotes folded to one space.
    std::vector<std::string> statements;
};

// The statements of a .sql file: split at each `;` outside quotes
// ('...', "...", $tag$...$tag$) and `--` comments.
std::vector<std::string> split_sql_statements(std::string_view text);

// `files` as migrations. Throws std::logic_error unless their versions
// increase.
std::vector<migration> migrations_of(std::span<const schema_file> files);

// Inside the caller's transaction, under its lock: runs
// `create_version_table` (CREATE TABLE IF NOT EXISTS schema_migrations
// (version, applied_us)) and applies, in order, the steps it does not
// record, recording each with `now_us`. Returns the versions applied.
std::vector<int> apply_pending_migrations(soci::session& sql, const std::vector<migration>& steps,
                                          std::string_view create_version_table,
                                          std::int64_t now_us);

// One log line per applied version; after COMMIT.
void log_applied_migrations(const std::vector<int>& versions);

}  // namespace invsys
