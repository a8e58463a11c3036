// The service: owns the registry and the store, routes each request to its
// handler, and is the one place where errors become problem+json.
#include <invsys/service.hpp>

#include "api/api_error.hpp"
#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/router.hpp"
#include "json/codec.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

#include <invsys/log.hpp>

#include <algorithm>
#include <new>

namespace invsys {
namespace {

using handler = http_response (*)(const api_call&);

handler find_handler(route_kind kind, std::string_view method) {
    const bool read = method == "GET" || method == "HEAD";
    switch (kind) {
        case route_kind::health:
            return read ? get_health : nullptr;
        case route_kind::types:
            return read ? get_types : nullptr;
        case route_kind::collection:
            return read ? list_resources : method == "POST" ? create_resource : nullptr;
        case route_kind::resource:
            return read                ? get_resource
                   : method == "PATCH"  ? update_resource
                   : method == "DELETE" ? delete_resource
                                        : nullptr;
        case route_kind::allocations:
            return read ? list_allocations : method == "POST" ? create_allocation : nullptr;
        case route_kind::allocation:
            return read                ? get_allocation
                   : method == "PATCH"  ? update_allocation
                   : method == "DELETE" ? delete_allocation
                                        : nullptr;
    }
    return nullptr;
}

std::string describe_types(const plugin_registry& registry) {
    std::vector<type_description> types;
    for (const auto& type : registry.types()) {
        types.push_back({type.type_name, type.collection, type.attributes});
    }
    return encode_types(types);
}

}  // namespace

struct service::impl {
    config cfg;
    plugin_registry registry;
    std::unique_ptr<store> db;
    std::string types_json;
    api_context context{cfg, registry, *db, types_json};

    explicit impl(const config& c)
        : cfg(c),
          registry(plugin_registry::load_directory(c.plugin_dir)),
          db(store::open(c.database, {c.busy_timeout_ms, c.threads})),
          types_json(describe_types(registry)) {
        db->migrate();
    }

    http_response dispatch(const http_request& request) {
        if (request.body.size() > cfg.max_body_bytes) {
            throw api_error(error_code::payload_too_large,
                            "request body is larger than " + std::to_string(cfg.max_body_bytes) +
                                " bytes");
        }
        const route where = match_route(request.path);
        const loaded_type* type = nullptr;
        if (!where.collection.empty()) {
            type = registry.find_by_collection(where.collection);
            if (!type) throw api_error(error_code::not_found, "no collection '" + where.collection + "'");
        }
        const handler h = find_handler(where.kind, request.method);
        if (!h) {
            api_error error(error_code::method_not_allowed,
                            request.method + " is not allowed here");
            error.allow = allowed_methods(where.kind);
            throw error;
        }
        return h(api_call{context, request, where, type});
    }
};

service::service(const config& cfg) : impl_(std::make_unique<impl>(cfg)) {}
service::~service() = default;

std::vector<std::string> service::type_names() const {
    std::vector<std::string> names;
    for (const auto& type : impl_->registry.types()) names.push_back(type.type_name);
    return names;
}

namespace {

// HEAD is GET without the body, but with the Content-Length the GET would
// have (RFC 9110 §9.3.2): clients size downloads from it.
void strip_for_head(http_response& response) {
    response.headers.emplace_back("Content-Length", std::to_string(response.body.size()));
    response.body.clear();
}

}  // namespace

http_response service::handle(const http_request& request) noexcept {
    http_response response = answer(request);
    if (request.method == "HEAD") {
        try {
            strip_for_head(response);
        } catch (...) {
            response.body.clear();  // out of memory: a HEAD answer without a length
        }
    }
    return response;
}

http_response service::answer(const http_request& request) noexcept {
    try {
        try {
            return impl_->dispatch(request);
        } catch (const api_error& error) {
            if (error.code() == error_code::internal) {
                log_error(request.method + " " + request.path + ": " + error.what());
            }
            return problem_response(error);
        } catch (const std::bad_alloc&) {
            log_error(request.method + " " + request.path + ": out of memory");
            api_error error(error_code::unavailable, "the server is short of memory");
            return problem_response(error);
        } catch (const std::exception& e) {
            log_error(request.method + " " + request.path + ": " + e.what());
            return problem_response(api_error(error_code::internal, "internal error"));
        }
    } catch (...) {
        // Building the problem itself failed (out of memory): answer without allocating more.
        http_response bare;
        bare.status = 500;
        return bare;
    }
}

}  // namespace invsys
