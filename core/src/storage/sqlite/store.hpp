// The SQLite backend of store (see store.hpp for the contract). No SOCI
// here: store_open.cpp and the tests include this header.
#pragma once

#include <memory>
#include <string>

#include "storage/store.hpp"

namespace invsys {

// Opens (creating when missing) the database file at `path`, plus its
// write-lock sidecar `<path>.lock`. Throws std::runtime_error when either
// cannot be opened or a connection cannot be set up (WAL,
// synchronous=FULL, foreign keys). Open it in the process that uses it:
// neither SQLite connections nor the write lock survive fork().
std::unique_ptr<store> open_sqlite_store(const std::string& path, const store_options& options);

// For tests and diagnostics: the value of `PRAGMA <name>` as one of the
// store's own connections sees it. `s` must come from open_sqlite_store;
// `name` is a bare pragma name (letters and '_').
std::string sqlite_pragma(store& s, const std::string& name);

}  // namespace invsys
