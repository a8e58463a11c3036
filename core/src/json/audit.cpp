// GET /api/audit: the entries as JSON. `before` and `after` are the rows as
// the API showed them when the change was made, stored as JSON text by the
// booking layer (json/entities.cpp wrote them), embedded as they are.
#include <rapidjson/stringbuffer.h>

#include "json/codec.hpp"
#include "json/writer.hpp"
#include "time/timestamp.hpp"

namespace invsys {
namespace {

void write_optional_string(json_writer& w, std::string_view key,
                           const std::optional<std::string>& value) {
    write_key(w, key);
    if (value)
        write_string(w, *value);
    else
        w.Null();
}

void write_row(json_writer& w, std::string_view key, const std::optional<std::string>& json) {
    write_key(w, key);
    if (json && !json->empty())
        w.RawValue(json->data(), json->size(), rapidjson::kObjectType);
    else
        w.Null();
}

std::string encode_audit_entry(const audit_entry& e) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartObject();
    write_key(w, "id");
    write_string(w, e.id);
    write_key(w, "time");
    write_string(w, format_timestamp(e.at_us));
    write_key(w, "key");
    w.StartObject();
    write_optional_string(w, "id", e.key_id.empty() ? std::nullopt : std::optional(e.key_id));
    write_key(w, "name");
    write_string(w, e.key_name);
    w.EndObject();
    write_optional_string(w, "request_id",
                          e.request_id.empty() ? std::nullopt : std::optional(e.request_id));
    write_key(w, "method");
    write_string(w, e.method);
    write_key(w, "route");
    write_string(w, e.route);
    write_key(w, "action");
    write_string(w, e.action);
    write_key(w, "entity_kind");
    write_string(w, e.entity_kind);
    write_key(w, "entity_id");
    write_string(w, e.entity_id);
    write_optional_string(w, "resource_id", e.resource_id);
    write_row(w, "before", e.before_json);
    write_row(w, "after", e.after_json);
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

encoded_page encode_audit_page(const std::vector<audit_entry>& entries, std::size_t max_bytes) {
    encoded_page page;
    page.json.push_back('[');
    for (const audit_entry& e : entries) {
        const std::string text = encode_audit_entry(e);
        if (page.items != 0 && page.json.size() + text.size() + 1 > max_bytes) break;
        if (page.items != 0) page.json.push_back(',');
        page.json.append(text.data(), text.size());
        ++page.items;
    }
    page.json.push_back(']');
    return page;
}

}  // namespace invsys
