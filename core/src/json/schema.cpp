// GET /api/types and the attribute schemas the OpenAPI document embeds.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

#include "json/codec.hpp"
#include "json/writer.hpp"

namespace invsys {
namespace {

const char* schema_type(attribute_kind kind) noexcept {
    switch (kind) {
        case attribute_kind::integer:
            return "integer";
        case attribute_kind::number:
            return "number";
        case attribute_kind::string:
            return "string";
        case attribute_kind::boolean:
            return "boolean";
    }
    return "string";
}

// Whole bounds read as integers ("minimum": 1, not 1.0), which is how a
// reader expects to see the bounds of an integer attribute. An infinite
// bound is no bound, and JSON cannot carry it anyway.
void write_bound(json_writer& w, std::string_view key, const std::optional<double>& bound) {
    if (!bound || !std::isfinite(*bound)) return;
    write_key(w, key);
    constexpr double exact_integers = 9007199254740992.0;  // 2^53
    if (std::trunc(*bound) == *bound && std::fabs(*bound) <= exact_integers)
        w.Int64(static_cast<std::int64_t>(*bound));
    else
        w.Double(*bound);
}

void write_schema(json_writer& w, const std::vector<attribute_spec>& attributes) {
    w.StartObject();
    write_key(w, "type");
    write_string(w, "object");
    write_key(w, "additionalProperties");
    w.Bool(false);
    write_key(w, "properties");
    w.StartObject();
    for (const auto& spec : attributes) {
        write_key(w, spec.name);
        w.StartObject();
        write_key(w, "type");
        write_string(w, schema_type(spec.kind));
        if (!spec.description.empty()) {
            write_key(w, "description");
            write_string(w, spec.description);
        }
        write_bound(w, "minimum", spec.minimum);
        write_bound(w, "exclusiveMinimum", spec.exclusive_minimum);
        write_bound(w, "maximum", spec.maximum);
        write_bound(w, "exclusiveMaximum", spec.exclusive_maximum);
        if (spec.max_length) {
            write_key(w, "maxLength");
            w.Uint64(*spec.max_length);
        }
        w.EndObject();
    }
    w.EndObject();
    w.EndObject();
}

// Spans in seconds: whole ones as integers, finer ones as fractions.
void write_seconds(json_writer& w, std::int64_t us) {
    if (us % 1000000 == 0)
        w.Int64(us / 1000000);
    else
        w.Double(static_cast<double>(us) / 1e6);
}

void write_optional_seconds(json_writer& w, const std::optional<std::int64_t>& us) {
    if (us)
        write_seconds(w, *us);
    else
        w.Null();
}

void write_rules(json_writer& w, const allocation_rules& rules) {
    w.StartObject();
    write_key(w, "allocation_types");
    if (rules.allocation_types.empty()) {
        w.Null();  // any
    } else {
        w.StartArray();
        for (const auto& name : rules.allocation_types) write_string(w, name);
        w.EndArray();
    }
    write_key(w, "durations");
    w.StartArray();
    for (const auto& d : rules.durations) {
        w.StartObject();
        write_key(w, "allocation_type");
        write_string(w, d.allocation_type);
        write_key(w, "min_seconds");
        write_optional_seconds(w, d.min_us);
        write_key(w, "max_seconds");
        write_optional_seconds(w, d.max_us);
        w.EndObject();
    }
    w.EndArray();
    write_key(w, "buffer_before_seconds");
    write_seconds(w, rules.buffer_before_us);
    write_key(w, "buffer_after_seconds");
    write_seconds(w, rules.buffer_after_us);
    write_key(w, "min_notice_seconds");
    write_seconds(w, rules.min_notice_us);
    w.EndObject();
}

}  // namespace

std::string encode_attribute_schema(const std::vector<attribute_spec>& attributes) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    write_schema(w, attributes);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string encode_type_rules(const allocation_rules& rules) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    write_rules(w, rules);
    return {buffer.GetString(), buffer.GetSize()};
}

std::string encode_types(const std::vector<type_description>& types) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartArray();
    for (const auto& type : types) {
        w.StartObject();
        write_key(w, "resource_type");
        write_string(w, type.type_name);
        write_key(w, "collection");
        write_string(w, type.collection);
        write_key(w, "attributes");
        write_schema(w, type.attributes);
        write_key(w, "rules");
        write_rules(w, type.rules);
        w.EndObject();
    }
    w.EndArray();
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace invsys
