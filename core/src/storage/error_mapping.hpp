// The one place where database errors become api_error. Every storage
// entry point funnels its exceptions through here, so the API layer never
// sees a SOCI or SQLite type.
#pragma once

#include <string_view>

#include "api/api_error.hpp"

namespace invsys {

// Call only from inside a catch block. Rethrows the exception in flight:
// an api_error (or std::bad_alloc) unchanged; a busy or locked database as
// database_busy(); a duplicate (resource_type, name) as conflict; anything
// else as api_error(internal) after logging it with `operation`.
[[noreturn]] void rethrow_as_api_error(std::string_view operation);

// 503 with Retry-After: 1, for a database (or write lock, or connection)
// that could not be had within busy_timeout_ms.
api_error database_busy();

}  // namespace invsys
