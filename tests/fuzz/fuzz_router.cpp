// Route matching of raw paths. A path no route has the shape of is
// api_error(not_found), nothing else; a matched route's ids are lower-case
// UUIDs, its collection one non-empty segment, and the canonical path of the
// route matches the same route again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/api_error.hpp"
#include "api/router.hpp"
#include "fuzz_check.hpp"
#include "util/uuid.hpp"

using namespace invsys;

namespace {

void check_id(const std::string& id) {
    FUZZ_CHECK(is_uuid(id));
    FUZZ_CHECK(id.find_first_of("ABCDEF") == std::string::npos);
}

std::string canonical_path(const route& r) {
    switch (r.kind) {
        case route_kind::health:
            return "/api/health";
        case route_kind::types:
            return "/api/types";
        case route_kind::collection:
            return "/api/" + r.collection;
        case route_kind::resource:
            return "/api/" + r.collection + "/" + r.resource_id;
        case route_kind::allocations:
            return "/api/" + r.collection + "/" + r.resource_id + "/allocations";
        case route_kind::allocation:
            return "/api/" + r.collection + "/" + r.resource_id + "/allocations/" +
                   r.allocation_id;
    }
    FUZZ_CHECK(!"unknown route kind");
    return {};
}

bool same(const route& a, const route& b) {
    return a.kind == b.kind && a.collection == b.collection && a.resource_id == b.resource_id &&
           a.allocation_id == b.allocation_id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view path(reinterpret_cast<const char*>(data), size);
    route r;
    try {
        r = match_route(path);
    } catch (const api_error& e) {
        FUZZ_CHECK(e.code() == error_code::not_found);
        return 0;
    }
    FUZZ_CHECK(!allowed_methods(r.kind).empty());
    const bool has_collection = r.kind != route_kind::health && r.kind != route_kind::types;
    FUZZ_CHECK(has_collection != r.collection.empty());
    FUZZ_CHECK(r.collection.find('/') == std::string::npos);
    const bool has_resource = r.kind == route_kind::resource || r.kind == route_kind::allocations ||
                              r.kind == route_kind::allocation;
    if (has_resource) check_id(r.resource_id);
    else FUZZ_CHECK(r.resource_id.empty());
    if (r.kind == route_kind::allocation) check_id(r.allocation_id);
    else FUZZ_CHECK(r.allocation_id.empty());
    FUZZ_CHECK(same(match_route(canonical_path(r)), r));
    return 0;
}
