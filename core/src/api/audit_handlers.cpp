// GET /api/audit: the audit trail, newest first, for admins.
#include "api/handlers.hpp"
#include "api/http.hpp"
#include "api/query.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"
#include "util/uuid.hpp"

namespace invsys::api {
namespace {

// resource_id= and entity_id= name UUIDs (compared in lower case, as
// stored); anything else could match nothing and is refused.
std::optional<std::string> uuid_param(const query_params& query, std::string_view name) {
    const std::string* value = query.get(name);
    if (value == nullptr) return std::nullopt;
    if (!is_uuid(*value)) throw invalid_field(std::string(name), "must be a UUID");
    std::string lower = *value;
    for (char& c : lower)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return lower;
}

}  // namespace

http_response list_audit(const api_call& call) {
    const query_params query(call.request.query,
                             {"limit", "after", "resource_id", "entity_id", "from", "to"});
    audit_filter filter;
    filter.resource_id = uuid_param(query, "resource_id");
    filter.entity_id = uuid_param(query, "entity_id");
    if (auto from = query.timestamp("from")) filter.from_us = *from;
    if (auto to = query.timestamp("to")) filter.to_us = *to;
    if (filter.from_us > filter.to_us) throw invalid_field("to", "must not be before from");
    const std::size_t limit = query.limit();
    std::vector<audit_entry> rows = call.ctx.db.list_audit(filter, query.after(), limit + 1);
    const bool more_rows = rows.size() > limit;
    if (more_rows) rows.resize(limit);
    auto page = encode_audit_page(rows, call.ctx.cfg.max_page_bytes);
    auto response = json_response(200, std::move(page.json));
    response.headers.emplace_back("Cache-Control", "no-store");
    if (more_rows || page.items < rows.size())
        response.headers.emplace_back("Link",
                                      query.next_page_link("/api/audit", rows[page.items - 1].id));
    return response;
}

}  // namespace invsys::api
