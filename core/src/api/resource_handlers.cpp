#include "api/etag.hpp"
#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "booking/booking.hpp"
#include "json/codec.hpp"

namespace invsys::api {
namespace {

std::string resource_path(const api_call& call, std::string_view id) {
    return "/api/" + call.type->collection + "/" + std::string(id);
}

http_response resource_response(int status, const resource& r) {
    auto response = json_response(status, encode_resource(r));
    add_etag(response, r.version);
    return response;
}

}  // namespace

http_response list_resources(const api_call& call) {
    const query_params query(call.request.query, {"limit", "after"});
    const auto rows = invsys::list_resources(call.ctx.db, *call.type, query.after(), query.limit());
    auto page = encode_resource_page(rows.rows, call.ctx.cfg.max_page_bytes);
    // More remain when the store had another row or the byte cap cut the page.
    const bool more = rows.more || page.items < rows.rows.size();
    auto response = json_response(200, std::move(page.json));
    if (more) {
        response.headers.emplace_back("Link", query.next_page_link("/api/" + call.type->collection,
                                                                   rows.rows[page.items - 1].id));
    }
    return response;
}

http_response create_resource(const api_call& call) {
    const resource created =
        invsys::create_resource(call.ctx.db, *call.type, decode_resource_input(call.request.body));
    auto response = resource_response(201, created);
    response.headers.emplace_back("Location", resource_path(call, created.id));
    return response;
}

http_response get_resource(const api_call& call) {
    return resource_response(200,
                             require_resource(call.ctx.db, *call.type, call.where.resource_id));
}

http_response update_resource(const api_call& call) {
    const version_condition expected = if_match_of(call.request);
    const resource_input input = decode_resource_input(call.request.body);
    return resource_response(200, invsys::update_resource(call.ctx.db, *call.type,
                                                          call.where.resource_id, input, expected));
}

http_response delete_resource(const api_call& call) {
    const version_condition expected = if_match_of(call.request);
    const query_params query(call.request.query, {"force"});
    invsys::delete_resource(call.ctx.db, *call.type, call.where.resource_id,
                            query.flag("force", false) ? resource_deletion::with_allocations
                                                       : resource_deletion::keep_allocations,
                            expected);
    return empty_response(204);
}

}  // namespace invsys::api
