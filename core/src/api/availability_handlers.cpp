// Availability, free gaps and "book any free one" (docs/api.md).
#include "api/etag.hpp"
#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "booking/booking.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"

namespace invsys::api {
namespace {

// [from, to) of the query; `from` required or open, `to` open when absent.
enum class start_rule { required, optional };
interval query_window(const query_params& query, start_rule start) {
    const auto from = query.timestamp("from");
    if (!from && start == start_rule::required) throw invalid_field("from", "is required");
    const interval window{from.value_or(open_start), query.timestamp("to").value_or(open_end)};
    if (!is_valid(window)) throw invalid_field("to", "must be later than from");
    return window;
}

}  // namespace

http_response list_available_resources(const api_call& call) {
    const query_params query(call.request.query, {"from", "to", "limit", "after"});
    const interval window = query_window(query, start_rule::required);
    const std::size_t limit = query.limit();
    const auto rows = list_available(call.ctx.db, *call.type, window, query.after(), limit);
    auto page = encode_resource_page(rows.rows, call.ctx.cfg.max_page_bytes);
    // More remain when the store had another row or the byte cap cut the page.
    const bool more = rows.more || page.items < rows.rows.size();
    auto response = json_response(200, std::move(page.json));
    if (more) {
        response.headers.emplace_back(
            "Link", query.next_page_link("/api/" + call.type->collection + "/availability",
                                         rows.rows[page.items - 1].id));
    }
    return response;
}

http_response list_free_gaps(const api_call& call) {
    const query_params query(call.request.query, {"from", "to", "limit"});
    const interval window = query_window(query, start_rule::optional);
    const free_gaps_page page =
        free_gaps(call.ctx.db, *call.type, call.where.resource_id, window, query.limit());
    std::vector<std::pair<std::int64_t, std::int64_t>> gaps;
    gaps.reserve(page.gaps.size());
    for (const interval& gap : page.gaps) gaps.emplace_back(gap.from, gap.to);
    auto response = json_response(200, encode_free_gaps(gaps));
    if (page.more) {
        response.headers.emplace_back(
            "Link", query.next_page_link_with(
                        "/api/" + call.type->collection + "/" + call.where.resource_id + "/free",
                        "from", format_timestamp(page.next_from)));
    }
    return response;
}

http_response book_any_free(const api_call& call) {
    const any_free_input input = decode_any_free_input(call.request.body);
    const allocation created =
        book_any(call.ctx.db, *call.type, input.allocation, input.candidates);
    auto response = json_response(201, encode_allocation(created, call.type->type_name));
    add_etag(response, created.version);  // as every other create answer
    std::string location = "/api/" + call.type->collection + "/" + created.resource_id;
    location.append("/allocations/").append(created.id);
    response.headers.emplace_back("Location", std::move(location));
    return response;
}

}  // namespace invsys::api
