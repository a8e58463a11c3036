// The route table: everything the API serves under /api/, one row per
// method and path pattern. Matching, 405 with Allow, HEAD (answered by the
// GET row) and the collection names a plugin may not take are all derived
// from it (api/router.hpp): a new endpoint is one row.
#pragma once

#include <span>
#include <string_view>

#include "api/handlers.hpp"
#include "auth/role.hpp"

namespace invsys {

struct route_row {
    std::string_view method;  // "GET", "POST", … (HEAD is derived from GET)
    // Segments after /api/: literals, {collection} (any collection a
    // plugin serves), {id} and {allocation_id} (UUIDs).
    std::string_view pattern;
    handler handle;
    role required;  // anyone, or a key with at least this role (auth/role.hpp)
};

std::span<const route_row> route_table() noexcept;

}  // namespace invsys
