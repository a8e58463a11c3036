// The route table: everything the API serves under /api/, one row per
// method and path pattern. Matching, 405 with Allow, HEAD (answered by the
// GET row), the collection names a plugin may not take and the OpenAPI
// document (json/openapi.hpp) are all derived from it (api/router.hpp): a
// new endpoint is one row.
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "api/handlers.hpp"
#include "auth/role.hpp"

namespace invsys {

// The shapes of bodies a route reads or answers; the OpenAPI document
// writes one schema per shape (per resource type for the resource shapes).
enum class body_shape {
    none,
    health,
    types,
    openapi,
    metrics_text,
    key_input,
    key_created,
    keys,
    current_key,
    resource_input,
    resource_update,
    resource,
    resources,
    allocation_input,
    allocation_update,
    any_free_input,
    allocation,
    allocations,
    free_gaps,
    audit_entries,
};

// What a row's handler takes and answers, for the OpenAPI document. The
// answers every route can give whatever its handler does (the gateway's
// errors, authentication, Idempotency-Key on POST, 413 where a body is
// read) are added by the document's writer; `other_statuses` lists the others.
struct route_doc {
    std::string_view operation_id;  // unique among the rows; a collection's name is added
    std::string_view summary;
    // The query parameters the handler accepts (json/openapi.cpp describes
    // each name); the handler's query_params lists the same names.
    std::array<std::string_view, 6> query{};
    body_shape request = body_shape::none;
    int success = 200;
    body_shape answer = body_shape::none;
    std::array<int, 6> other_statuses{};  // zero-filled
    bool if_match = false;                // PATCH and DELETE of one versioned row
};

struct route_row {
    std::string_view method;  // "GET", "POST", … (HEAD is derived from GET)
    // Segments after /api/: literals, {collection} (any collection a
    // plugin serves), {id} and {allocation_id} (UUIDs).
    std::string_view pattern;
    handler handle;
    role required;  // anyone, or a key with at least this role (auth/role.hpp)
    route_doc doc;
};

std::span<const route_row> route_table() noexcept;

}  // namespace invsys
