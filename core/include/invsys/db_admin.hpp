// Backups of the configured database, for the operators' tool
// (invsys-admin backup / restore). docs/operations.md is the runbook.
//
// SQLite: backup is `VACUUM INTO` a temporary file beside the target, on a
// read-only connection: one read transaction, so in WAL mode it sees the
// database as of its start (every write acknowledged before it began) and
// never takes the write lock — writers go on while it copies. The copy is
// checked (PRAGMA integrity_check), synced and renamed into place.
// Restore refuses while any process has the database open (the service or
// invsys-admin: each holds a shared lock on `<db>.lock` for as long as it
// has the database open), refuses a file that is not an invsys database,
// fails its integrity check or has a schema this binary does not know;
// else it copies the file beside the database, removes the -wal and -shm
// files, renames the copy over the database and resets the lock file, so
// that the next service start takes writes at once.
//
// PostgreSQL: backup runs `pg_dump -Fc`, restore `pg_restore --clean
// --if-exists --single-transaction` (from PATH) on the configured URL,
// after the same schema check of the dump and refusing while other
// sessions use the database.
#pragma once

#include <cstdint>
#include <invsys/config.hpp>
#include <string>

namespace invsys {

struct backup_report {
    std::string backend;      // "sqlite" or "postgresql"
    std::uint64_t bytes = 0;  // of the backup file
    double seconds = 0;       // the copy's wall time
    int schema_version = 0;   // of the copied database
};

// Throws std::runtime_error with a message for the operator; `file` must
// not exist (nothing is overwritten).
backup_report backup_database(const config& cfg, const std::string& file);

// Throws std::runtime_error with a message for the operator, the database
// left as it was, when a refusal applies (see above).
backup_report restore_database(const config& cfg, const std::string& file);

}  // namespace invsys
