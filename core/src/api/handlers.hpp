// The endpoint handlers. Each decodes its request, calls the booking layer
// and encodes the answer; errors are thrown as invsys::error and answered
// by the pipeline (api/pipeline.hpp). Which path and method reach which
// handler is the route table's business (api/routes.cpp).
#pragma once

#include <invsys/config.hpp>
#include <invsys/service.hpp>
#include <optional>
#include <string>

#include "auth/key_cache.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

namespace invsys {

struct route_row;

// What every handler may use; lives as long as the service.
struct api_context {
    const config& cfg;
    const plugin_registry& registry;
    store& db;
    const std::string& types_json;  // GET /api/types, built once at start-up
    // GET /api/openapi.json and its ETag, built once at start-up (one
    // plugin generation per worker).
    const std::string& openapi_json;
    const std::string& openapi_etag;
    key_cache& keys;  // the API keys this worker has looked up
};

// A path matched against the route table, with the values of its
// placeholders ({collection}, {id}, {allocation_id}; ids in lower case).
struct route {
    const route_row* row = nullptr;  // the first row of the matched pattern
    std::string collection;
    std::string resource_id;
    std::string allocation_id;
};

// One request on its way through the pipeline: the request-id stage fills
// in `request_id`, authentication `caller`, the routing stage `where`,
// `handler_row` and `type`.
struct api_call {
    const api_context& ctx;
    const http_request& request;
    route where;
    const route_row* handler_row = nullptr;  // the row of this method
    const loaded_type* type = nullptr;       // null for routes outside collections
    // The key the request authenticated with; nullopt: none (only routes
    // open to anyone get that far without one).
    std::optional<authenticated_key> caller;
    std::string request_id;  // well formed (auth/credentials.hpp), never empty
};

using handler = http_response (*)(const api_call&);

namespace api {

http_response get_health(const api_call& call);
http_response get_types(const api_call& call);
http_response get_openapi(const api_call& call);
http_response get_metrics(const api_call& call);

http_response create_key(const api_call& call);
http_response list_keys(const api_call& call);
http_response get_current_key(const api_call& call);
http_response delete_key(const api_call& call);

http_response list_resources(const api_call& call);
http_response create_resource(const api_call& call);
http_response get_resource(const api_call& call);
http_response update_resource(const api_call& call);
http_response delete_resource(const api_call& call);

http_response list_allocations(const api_call& call);
http_response create_allocation(const api_call& call);
http_response get_allocation(const api_call& call);
http_response update_allocation(const api_call& call);
http_response delete_allocation(const api_call& call);

http_response list_available_resources(const api_call& call);
http_response list_free_gaps(const api_call& call);
http_response book_any_free(const api_call& call);

http_response list_audit(const api_call& call);

}  // namespace api
}  // namespace invsys
