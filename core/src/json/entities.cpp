// Resources and allocations as the API returns them.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "json/codec.hpp"
#include "json/writer.hpp"
#include "time/timestamp.hpp"

namespace invsys {
namespace {

void write_optional(json_writer& w, const std::optional<std::string>& s) {
    if (s)
        write_string(w, *s);
    else
        w.Null();
}

// Stored JSON object text goes in as is: it was produced by our own Writer.
void write_raw_object(json_writer& w, std::string_view json) {
    if (json.empty()) json = "{}";
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void write_time(json_writer& w, std::int64_t micros) { write_string(w, format_timestamp(micros)); }

void write_time_or_null(json_writer& w, std::int64_t micros, std::int64_t open) {
    if (micros == open)
        w.Null();
    else
        write_time(w, micros);
}

void write_resource(json_writer& w, const resource& r) {
    w.StartObject();
    write_key(w, "id");
    write_string(w, r.id);
    write_key(w, "name");
    write_string(w, r.name);
    write_key(w, "resource_type");
    write_string(w, r.resource_type);
    write_key(w, "created");
    write_time(w, r.created_us);
    write_key(w, "attributes");
    write_raw_object(w, r.attributes_json);
    w.EndObject();
}

void write_allocation(json_writer& w, const allocation& a, std::string_view resource_type) {
    const bool from_infinity = a.from_us == open_start;
    const bool to_infinity = a.to_us == open_end;
    w.StartObject();
    write_key(w, "id");
    write_string(w, a.id);
    write_key(w, "resource_type");
    write_string(w, resource_type);
    write_key(w, "resource_id");
    write_string(w, a.resource_id);
    write_key(w, "from_infinity");
    w.Bool(from_infinity);
    write_key(w, "to_infinity");
    w.Bool(to_infinity);
    write_key(w, "from_datetime");
    if (from_infinity)
        w.Null();
    else
        write_time(w, a.from_us);
    write_key(w, "to_datetime");
    if (to_infinity)
        w.Null();
    else
        write_time(w, a.to_us);
    write_key(w, "allocation_type");
    write_string(w, a.allocation_type);
    write_key(w, "description");
    write_optional(w, a.description);
    write_key(w, "dump");
    if (a.dump_json)
        write_raw_object(w, *a.dump_json);
    else
        w.Null();
    write_key(w, "created");
    write_time(w, a.created_us);
    w.EndObject();
}

std::string text_of(const rapidjson::StringBuffer& buffer) {
    return {buffer.GetString(), buffer.GetSize()};
}

// Items are written one by one so that the page can stop before the one
// that would not fit, without building the whole list first.
template <typename Item, typename Encode>
encoded_page encode_page(const std::vector<Item>& items, std::size_t max_bytes, Encode encode) {
    // push_back/append rather than = and +=: GCC 12 warns (-Wrestrict, a
    // false positive) on the inlined copies of the latter here.
    encoded_page page;
    page.json.push_back('[');
    for (const Item& item : items) {
        const std::string text = encode(item);
        // +1 for the separator or the closing bracket.
        if (page.items != 0 && page.json.size() + text.size() + 1 > max_bytes) break;
        if (page.items != 0) page.json.push_back(',');
        page.json.append(text.data(), text.size());
        ++page.items;
    }
    page.json.push_back(']');
    return page;
}

}  // namespace

encoded_page encode_resource_page(const std::vector<resource>& rs, std::size_t max_bytes) {
    return encode_page(rs, max_bytes, [](const resource& r) { return encode_resource(r); });
}

encoded_page encode_allocation_page(const std::vector<allocation>& as,
                                    std::string_view resource_type, std::size_t max_bytes) {
    return encode_page(as, max_bytes,
                       [&](const allocation& a) { return encode_allocation(a, resource_type); });
}

std::string encode_resource(const resource& r) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    write_resource(w, r);
    return text_of(buffer);
}

std::string encode_resources(const std::vector<resource>& rs) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartArray();
    for (const auto& r : rs) write_resource(w, r);
    w.EndArray();
    return text_of(buffer);
}

std::string encode_allocation(const allocation& a, std::string_view resource_type) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    write_allocation(w, a, resource_type);
    return text_of(buffer);
}

std::string encode_allocations(const std::vector<allocation>& as, std::string_view resource_type) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartArray();
    for (const auto& a : as) write_allocation(w, a, resource_type);
    w.EndArray();
    return text_of(buffer);
}

std::string encode_free_gaps(const std::vector<std::pair<std::int64_t, std::int64_t>>& gaps) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartArray();
    for (const auto& [from, to] : gaps) {
        w.StartObject();
        write_key(w, "from_datetime");
        write_time_or_null(w, from, open_start);
        write_key(w, "to_datetime");
        write_time_or_null(w, to, open_end);
        w.EndObject();
    }
    w.EndArray();
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace invsys
