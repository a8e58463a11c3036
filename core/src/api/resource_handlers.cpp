#include "api/handlers.hpp"

#include "api/api_error.hpp"
#include "api/attribute_validation.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "api/request_rules.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

std::string resource_path(const api_call& call, std::string_view id) {
    return "/api/" + call.type->collection + "/" + std::string(id);
}

std::string attributes_json(const api_call& call, const resource_input& input) {
    static const std::vector<std::pair<std::string, raw_attribute>> none;
    return encode_attributes(
        validate_attributes(*call.type, input.attributes ? *input.attributes : none));
}

}  // namespace

resource require_resource(const api_call& call) {
    auto found = call.ctx.db.find_resource(call.type->type_name, call.where.resource_id);
    if (!found) {
        throw api_error(error_code::not_found,
                        "no " + call.type->type_name + " with id " + call.where.resource_id);
    }
    return std::move(*found);
}

http_response list_resources(const api_call& call) {
    const query_params query(call.request.query, {"limit", "after"});
    const std::size_t limit = query.limit();
    auto rows = call.ctx.db.list_resources(call.type->type_name, query.after(), limit + 1);
    const bool store_has_more = rows.size() > limit;
    if (store_has_more) rows.pop_back();
    auto page = encode_resource_page(rows, call.ctx.cfg.max_page_bytes);
    // More remain when the store had another row or the byte cap cut the page.
    const bool more = store_has_more || page.items < rows.size();
    auto response = json_response(200, std::move(page.json));
    if (more) {
        response.headers.emplace_back(
            "Link", query.next_page_link("/api/" + call.type->collection, rows[page.items - 1].id));
    }
    return response;
}

http_response create_resource(const api_call& call) {
    const resource_input input = decode_resource_input(call.request.body);
    std::vector<field_error> errors;
    if (!input.name) {
        errors.push_back({"name", "is required"});
    } else {
        check_name(*input.name, errors);
    }
    if (!errors.empty()) throw_invalid(std::move(errors));

    resource created;
    created.attributes_json = attributes_json(call, input);
    created.id = new_uuid();
    created.resource_type = call.type->type_name;
    created.name = *input.name;
    created.created_us = now_micros();
    call.ctx.db.insert_resource(created);

    auto response = json_response(201, encode_resource(created));
    response.headers.emplace_back("Location", resource_path(call, created.id));
    return response;
}

http_response get_resource(const api_call& call) {
    return json_response(200, encode_resource(require_resource(call)));
}

http_response update_resource(const api_call& call) {
    const resource_input input = decode_resource_input(call.request.body);
    std::vector<field_error> errors;
    if (input.name) check_name(*input.name, errors);
    if (!errors.empty()) throw_invalid(std::move(errors));
    // Validate before the lookup: a bad body is 400 whether or not the id exists.
    const std::optional<std::string> new_attributes =
        input.attributes ? std::optional(attributes_json(call, input)) : std::nullopt;

    resource updated = require_resource(call);
    if (input.name) updated.name = *input.name;
    if (new_attributes) updated.attributes_json = *new_attributes;
    if (input.name || new_attributes) call.ctx.db.update_resource(updated);
    return json_response(200, encode_resource(updated));
}

http_response delete_resource(const api_call& call) {
    const query_params query(call.request.query, {"force"});
    call.ctx.db.delete_resource(call.type->type_name, call.where.resource_id, query.flag("force", false),
                                now_micros());
    return empty_response(204);
}

}  // namespace invsys
