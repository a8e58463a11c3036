// The OpenAPI 3.1 description of the running service (GET
// /api/openapi.json), written from the route table's doc records
// (api/routes.hpp) and the loaded types: one path set per collection, each
// with its type's attribute JSON Schema and rules. Built once per worker
// (one plugin generation), never per request.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "api/routes.hpp"
#include "json/codec.hpp"

namespace invsys {

// The document, and a strong ETag of its text (it is not a row: a hash of
// the bytes is what names this version).
struct openapi_document {
    std::string json;
    std::string etag;
};

openapi_document describe_openapi(std::span<const route_row> routes,
                                  const std::vector<type_description>& types);

}  // namespace invsys
