// Validated attributes <-> their canonical stored JSON text.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

#include "json/codec.hpp"

namespace invsys {

std::string encode_attributes(const attribute_map& attributes) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.StartObject();
    // The map is ordered, which makes the text canonical: equal attribute
    // sets are stored, compared and returned as equal strings.
    for (const auto& [name, value] : attributes) {
        writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
        switch (value.kind) {
            case attribute_kind::integer:
                writer.Int64(value.integer);
                break;
            case attribute_kind::number:
                // The Writer would emit nothing and poison its state.
                if (!std::isfinite(value.number))
                    throw api_error(error_code::internal, "attribute " + name + " is not finite");
                // A whole number reads back as the client wrote it (3000, not
                // 3000.0) while it is exactly representable.
                if (std::trunc(value.number) == value.number && std::fabs(value.number) < 9007199254740992.0) {
                    writer.Int64(static_cast<std::int64_t>(value.number));
                } else {
                    writer.Double(value.number);
                }
                break;
            case attribute_kind::string:
                writer.String(value.string.data(),
                              static_cast<rapidjson::SizeType>(value.string.size()));
                break;
            case attribute_kind::boolean:
                writer.Bool(value.boolean);
                break;
        }
    }
    writer.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

attribute_map decode_stored_attributes(std::string_view json) {
    // Written by encode_attributes: flat, so parsing cannot go deep, but
    // still iterative in case the database was edited by hand. Full
    // precision, so that every double reads back bit for bit.
    rapidjson::Document document;
    document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(
        json.data(), json.size());
    if (document.HasParseError() || !document.IsObject())
        throw api_error(error_code::internal, "stored attributes are not a JSON object");

    attribute_map attributes;
    for (const auto& m : document.GetObject()) {
        attribute_value value;
        const rapidjson::Value& v = m.value;
        if (v.IsBool()) {
            value.kind = attribute_kind::boolean;
            value.boolean = v.GetBool();
        } else if (v.IsInt64()) {
            value.kind = attribute_kind::integer;
            value.integer = v.GetInt64();
            value.number = static_cast<double>(value.integer);
        } else if (v.IsNumber()) {
            value.kind = attribute_kind::number;
            value.number = v.GetDouble();
        } else if (v.IsString()) {
            value.kind = attribute_kind::string;
            value.string.assign(v.GetString(), v.GetStringLength());
        } else {
            throw api_error(error_code::internal, "stored attribute has an unexpected JSON type");
        }
        attributes.insert_or_assign(std::string(m.name.GetString(), m.name.GetStringLength()),
                                    std::move(value));
    }
    return attributes;
}

}  // namespace invsys
