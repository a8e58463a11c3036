// Resources and allocations as the API returns them.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

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
    w.raw_value(json, rapidjson::kObjectType);
}

// Into a stack buffer: no string per timestamp (a page writes hundreds).
// Through plain_string, not RapidJSON's String, which escapes a byte at a
// time (the same bytes: a timestamp has nothing to escape).
void write_time(json_writer& w, std::int64_t micros) {
    char text[max_timestamp_length];
    w.plain_string(std::string_view(text, format_timestamp_to(text, micros)));
}

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
// that would not fit, without building the whole list first. One buffer
// and one writer for the whole page (the writer's Reset keeps its stack),
// reserved for a typical page up front: a page of 100 costs a few
// allocations, not several per item. An item that does not fit is popped
// off the buffer again, with its separator.
template <typename Item, typename Write>
encoded_page encode_page(const std::vector<Item>& items, std::size_t max_bytes, Write write) {
    constexpr std::size_t typical_item_bytes = 320;
    rapidjson::StringBuffer buffer;
    buffer.Reserve(std::min(max_bytes, items.size() * typical_item_bytes + 2));
    json_writer w(buffer);
    encoded_page page;
    buffer.Put('[');
    for (const Item& item : items) {
        const std::size_t before = buffer.GetSize();
        if (page.items != 0) buffer.Put(',');
        w.Reset(buffer);
        write(w, item);
        // +1 for the closing bracket.
        if (page.items != 0 && buffer.GetSize() + 1 > max_bytes) {
            buffer.Pop(buffer.GetSize() - before);
            break;
        }
        ++page.items;
    }
    buffer.Put(']');
    page.json.assign(buffer.GetString(), buffer.GetSize());
    return page;
}

}  // namespace

encoded_page encode_resource_page(const std::vector<resource>& rs, std::size_t max_bytes) {
    return encode_page(rs, max_bytes,
                       [](json_writer& w, const resource& r) { write_resource(w, r); });
}

encoded_page encode_allocation_page(const std::vector<allocation>& as,
                                    std::string_view resource_type, std::size_t max_bytes) {
    return encode_page(as, max_bytes, [&](json_writer& w, const allocation& a) {
        write_allocation(w, a, resource_type);
    });
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
