#include "api/routes.hpp"

#include <array>

namespace invsys {
namespace {

// Rows of one pattern stay together: their order is the Allow header's.
constexpr std::array routes{
    route_row{"GET", "/api/health", api::get_health, role::anyone},
    route_row{"GET", "/api/types", api::get_types, role::reader},
    route_row{"GET", "/api/metrics", api::get_metrics, role::admin},
    route_row{"GET", "/api/keys", api::list_keys, role::admin},
    route_row{"POST", "/api/keys", api::create_key, role::admin},
    route_row{"GET", "/api/keys/current", api::get_current_key, role::reader},
    route_row{"DELETE", "/api/keys/{id}", api::delete_key, role::admin},
    route_row{"GET", "/api/{collection}", api::list_resources, role::reader},
    route_row{"POST", "/api/{collection}", api::create_resource, role::writer},
    // Literal segments win over {id} where {id} would stand (api/router.hpp):
    // a UUID can never be "availability" or "allocations" anyway.
    route_row{"GET", "/api/{collection}/availability", api::list_available_resources, role::reader},
    route_row{"POST", "/api/{collection}/allocations", api::book_any_free, role::writer},
    route_row{"GET", "/api/{collection}/{id}", api::get_resource, role::reader},
    route_row{"PATCH", "/api/{collection}/{id}", api::update_resource, role::writer},
    route_row{"DELETE", "/api/{collection}/{id}", api::delete_resource, role::writer},
    route_row{"GET", "/api/{collection}/{id}/free", api::list_free_gaps, role::reader},
    route_row{"GET", "/api/{collection}/{id}/allocations", api::list_allocations, role::reader},
    route_row{"POST", "/api/{collection}/{id}/allocations", api::create_allocation, role::writer},
    route_row{"GET", "/api/{collection}/{id}/allocations/{allocation_id}", api::get_allocation,
              role::reader},
    route_row{"PATCH", "/api/{collection}/{id}/allocations/{allocation_id}", api::update_allocation,
              role::writer},
    route_row{"DELETE", "/api/{collection}/{id}/allocations/{allocation_id}",
              api::delete_allocation, role::writer},
    // The audit trail (issue 15), admins only: a literal first segment, so
    // "audit" is a name no plugin's collection may take. Kept last: rows of
    // other patterns may be added above it.
    route_row{"GET", "/api/audit", api::list_audit, role::admin},
};

}  // namespace

std::span<const route_row> route_table() noexcept { return routes; }

}  // namespace invsys
