// Matches request paths against the route table (api/routes.hpp). Knows
// nothing of transports; what a handler does is not its business.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/handlers.hpp"
#include "api/routes.hpp"

namespace invsys {

// The pattern `path` (raw, as sent; one trailing slash tolerated) has, with
// its placeholder values. Throws error(not_found) when no pattern fits.
// Ids that are not UUIDs fit no pattern: they can name nothing, so they
// never reach storage. Whether the collection is served is for the caller
// to check. A literal segment wins over {collection} ("/api/types").
route match_route(std::string_view path);

// The row for `method` on the matched pattern (HEAD takes the GET row), or
// nullptr when the pattern does not take that method.
const route_row* find_method(const route& where, std::string_view method) noexcept;

// The methods the matched pattern takes, in table order, HEAD after GET:
// the Allow header of a 405.
std::vector<std::string> allowed_methods(const route& where);

// The literal segments that stand where {collection} stands in other
// patterns ("health", "types"): a plugin may not take them as its collection.
std::vector<std::string> reserved_collection_names();

}  // namespace invsys
