// What the file system says about a SQLite database file, for the health
// check: `SELECT` from a table succeeds from SQLite's page cache on a file
// that is full, read-only or already removed, so the health check also
// asks the file system (sqlite/store.cpp).
#pragma once

#include <optional>
#include <string>

namespace invsys {

// Why the database at `path` cannot take writes now, in words fit for a
// client (no path): its file system is read-only (as statvfs says, or as
// a timestamp update of `<path>.lock` finds), the file or its
// directory is not writable by this process, or the file system has less
// than `min_free_bytes` free. Empty when none of these holds.
std::optional<std::string> database_file_problem(const std::string& path,
                                                 unsigned long long min_free_bytes);

// Free space below which the health check reports the disk as full: a few
// WAL frames of the default page size.
inline constexpr unsigned long long health_min_free_bytes = 64 * 1024;

}  // namespace invsys
