#include <algorithm>
#include <cstring>
#include <vector>

#include "json/codec.hpp"
#include "json/json_reader.hpp"

namespace invsys {
namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

bool key_before(const rapidjson::Value::Member* a, const rapidjson::Value::Member* b) noexcept {
    const auto an = a->name.GetStringLength(), bn = b->name.GetStringLength();
    const int order = std::memcmp(a->name.GetString(), b->name.GetString(), std::min(an, bn));
    return order < 0 || (order == 0 && an < bn);
}

// Recursion is bounded: parse_json refuses nesting past max_json_depth.
void write_canonical(const rapidjson::Value& v, writer& out) {
    if (is_number(v)) {
        const std::string_view text = number_text(v);
        out.RawValue(text.data(), text.size(), rapidjson::kNumberType);
    } else if (v.IsObject()) {
        std::vector<const rapidjson::Value::Member*> members;
        members.reserve(v.MemberCount());
        for (const auto& m : v.GetObject()) members.push_back(&m);
        // Stable: a key given twice keeps its order (such a body is refused
        // anyway, and must not equal its mirror image).
        std::stable_sort(members.begin(), members.end(), key_before);
        out.StartObject();
        for (const auto* m : members) {
            out.Key(m->name.GetString(), m->name.GetStringLength());
            write_canonical(m->value, out);
        }
        out.EndObject();
    } else if (v.IsArray()) {
        out.StartArray();
        for (const auto& item : v.GetArray()) write_canonical(item, out);
        out.EndArray();
    } else if (v.IsString()) {
        out.String(v.GetString(), v.GetStringLength());
    } else if (v.IsBool()) {
        out.Bool(v.GetBool());
    } else {
        out.Null();
    }
}

}  // namespace

std::optional<std::string> canonical_json(std::string_view text) {
    rapidjson::Document document;
    try {
        parse_json(text, document);
    } catch (const error&) {
        return std::nullopt;
    }
    rapidjson::StringBuffer buffer;
    writer out(buffer);
    write_canonical(document, out);
    return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace invsys
