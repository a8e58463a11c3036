#include "api/handlers.hpp"

#include "api/api_error.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "api/request_rules.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

std::string allocations_path(const api_call& call) {
    return "/api/" + call.type->collection + "/" + call.where.resource_id + "/allocations";
}

allocation require_allocation(const api_call& call) {
    auto found = call.ctx.db.find_allocation(call.where.resource_id, call.where.allocation_id);
    if (!found) {
        throw api_error(error_code::not_found, "no allocation with id " + call.where.allocation_id +
                                                   " on this " + call.type->type_name);
    }
    return std::move(*found);
}

}  // namespace

http_response list_allocations(const api_call& call) {
    const query_params query(call.request.query, {"from", "to", "allocation_type", "limit", "after"});
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

    require_resource(call);
    auto rows = call.ctx.db.list_allocations(call.where.resource_id, filter, after, limit + 1);
    const bool store_has_more = rows.size() > limit;
    if (store_has_more) rows.pop_back();
    auto page = encode_allocation_page(rows, call.type->type_name, call.ctx.cfg.max_page_bytes);
    // More remain when the store had another row or the byte cap cut the page.
    const bool more = store_has_more || page.items < rows.size();
    auto response = json_response(200, std::move(page.json));
    if (more) {
        response.headers.emplace_back(
            "Link", query.next_page_link(allocations_path(call), rows[page.items - 1].id));
    }
    return response;
}

http_response create_allocation(const api_call& call) {
    const allocation_input input = decode_allocation_input(call.request.body);
    allocation created;
    apply_allocation_input(input, true, *call.type, created);
    require_resource(call);

    created.id = new_uuid();
    created.resource_id = call.where.resource_id;
    created.created_us = now_micros();
    call.ctx.db.insert_allocation(created);

    auto response = json_response(201, encode_allocation(created, call.type->type_name));
    response.headers.emplace_back("Location", allocations_path(call) + "/" + created.id);
    return response;
}

http_response get_allocation(const api_call& call) {
    require_resource(call);
    return json_response(200, encode_allocation(require_allocation(call), call.type->type_name));
}

http_response update_allocation(const api_call& call) {
    const allocation_input input = decode_allocation_input(call.request.body);
    require_resource(call);
    allocation updated = require_allocation(call);
    apply_allocation_input(input, false, *call.type, updated);
    call.ctx.db.update_allocation(updated);
    return json_response(200, encode_allocation(updated, call.type->type_name));
}

http_response delete_allocation(const api_call& call) {
    require_resource(call);
    call.ctx.db.delete_allocation(call.where.resource_id, call.where.allocation_id);
    return empty_response(204);
}

}  // namespace invsys
