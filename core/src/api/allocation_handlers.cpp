#include "api/etag.hpp"
#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "booking/booking.hpp"
#include "json/codec.hpp"

namespace invsys::api {
namespace {

std::string allocations_path(const api_call& call) {
    return "/api/" + call.type->collection + "/" + call.where.resource_id + "/allocations";
}

http_response allocation_response(const api_call& call, int status, const allocation& a) {
    auto response = json_response(status, encode_allocation(a, call.type->type_name));
    add_etag(response, a.version);
    return response;
}

}  // namespace

http_response list_allocations(const api_call& call) {
    const query_params query(call.request.query,
                             {"from", "to", "allocation_type", "limit", "after"});
    allocation_filter filter;
    const auto from = query.timestamp("from");
    const auto to = query.timestamp("to");
    if (from || to) {
        filter.window = interval{from.value_or(open_start), to.value_or(open_end)};
        if (!is_valid(*filter.window)) throw invalid_field("to", "must be later than from");
    }
    if (const std::string* type = query.get("allocation_type")) filter.allocation_type = *type;
    const std::size_t limit = query.limit();
    const auto after = query.after();

    const auto rows = invsys::list_allocations(call.ctx.db, *call.type, call.where.resource_id,
                                               filter, after, limit);
    auto page =
        encode_allocation_page(rows.rows, call.type->type_name, call.ctx.cfg.max_page_bytes);
    // More remain when the store had another row or the byte cap cut the page.
    const bool more = rows.more || page.items < rows.rows.size();
    auto response = json_response(200, std::move(page.json));
    if (more) {
        response.headers.emplace_back(
            "Link", query.next_page_link(allocations_path(call), rows.rows[page.items - 1].id));
    }
    return response;
}

http_response create_allocation(const api_call& call) {
    const allocation_input input = decode_allocation_input(call.request.body);
    const allocation created = book(call.ctx.db, *call.type, call.where.resource_id, input);
    auto response = allocation_response(call, 201, created);
    response.headers.emplace_back("Location", allocations_path(call) + "/" + created.id);
    return response;
}

http_response get_allocation(const api_call& call) {
    require_resource(call.ctx.db, *call.type, call.where.resource_id);
    return allocation_response(call, 200,
                               require_allocation(call.ctx.db, *call.type, call.where.resource_id,
                                                  call.where.allocation_id));
}

http_response update_allocation(const api_call& call) {
    const version_condition expected = if_match_of(call.request);
    const allocation_input input = decode_allocation_input(call.request.body);
    return allocation_response(call, 200,
                               reschedule(call.ctx.db, *call.type, call.where.resource_id,
                                          call.where.allocation_id, input, expected));
}

http_response delete_allocation(const api_call& call) {
    const version_condition expected = if_match_of(call.request);
    cancel(call.ctx.db, *call.type, call.where.resource_id, call.where.allocation_id, expected);
    return empty_response(204);
}

}  // namespace invsys::api
