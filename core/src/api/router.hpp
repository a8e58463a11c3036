// Maps a request path to a route: which kind of endpoint, with which
// collection and ids. Knows nothing of handlers or transports.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace invsys {

enum class route_kind {
    health,            // /api/health
    types,             // /api/types
    collection,        // /api/{collection}
    resource,          // /api/{collection}/{id}
    allocations,       // /api/{collection}/{id}/allocations
    allocation,        // /api/{collection}/{id}/allocations/{aid}
};

struct route {
    route_kind kind = route_kind::health;
    std::string collection;
    std::string resource_id;
    std::string allocation_id;
};

// The methods each kind of route answers, for 405 and its Allow header.
const std::vector<std::string>& allowed_methods(route_kind kind);

// Splits `path` (raw, as sent). Throws error(not_found) for a path that
// no route has the shape of. Ids that are not UUIDs are not_found too:
// they can name nothing, so they never reach storage. Whether the
// collection is served is for the caller to check.
route match_route(std::string_view path);

}  // namespace invsys
