// The endpoint handlers. Each takes the parsed call and returns a response
// or throws error; service.cpp routes to them and catches.
#pragma once

#include "api/router.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

#include <invsys/config.hpp>
#include <invsys/service.hpp>

namespace invsys {

// What every handler may use; lives as long as the service.
struct api_context {
    const config& cfg;
    const plugin_registry& registry;
    store& db;
    const std::string& types_json;  // GET /api/types, built once at start-up
};

// One request after routing. `type` is null for routes outside collections.
struct api_call {
    const api_context& ctx;
    const http_request& request;
    const route& where;
    const loaded_type* type;
};

http_response get_health(const api_call& call);
http_response get_types(const api_call& call);

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

// Shared by handlers: the resource named by the route, of the route's type
// (404 when unknown or of another type).
resource require_resource(const api_call& call);

}  // namespace invsys
