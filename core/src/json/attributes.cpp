// Validated attributes <-> their canonical stored JSON text.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>

#include "json/codec.hpp"
#include "json/json_reader.hpp"
#include "json/number_text.hpp"

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
                    throw error(error_code::internal, "attribute " + name + " is not finite");
                // A whole number reads back as the client wrote it (3000, not
                // 3000.0) while it is exactly representable.
                if (std::trunc(value.number) == value.number &&
                    std::fabs(value.number) < 9007199254740992.0) {
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
    // Written by encode_attributes, but read as safely as a request body in
    // case the database was edited by hand; from_chars reads every double
    // back bit for bit.
    rapidjson::Document document;
    try {
        parse_json(json, document);
    } catch (const error&) {
        throw error(error_code::internal, "stored attributes are not valid JSON");
    }
    if (!document.IsObject())
        throw error(error_code::internal, "stored attributes are not a JSON object");

    attribute_map attributes;
    for (const auto& m : document.GetObject()) {
        attribute_value value;
        const rapidjson::Value& v = m.value;
        if (v.IsBool()) {
            value.kind = attribute_kind::boolean;
            value.boolean = v.GetBool();
        } else if (is_number(v)) {
            const number_value n = convert_json_number(number_text(v));
            if (n.what == number_value::kind::out_of_range)
                throw error(error_code::internal, "stored attribute is out of range");
            // Written with a fraction only when not whole: "3000" read back
            // as a number attribute is the integer 3000, as it was stored.
            const bool integral = n.what == number_value::kind::integer &&
                                  number_text(v).find_first_of(".eE") == std::string_view::npos;
            value.kind = integral ? attribute_kind::integer : attribute_kind::number;
            value.integer = n.integer;
            value.number = n.number;
        } else if (v.IsString()) {
            value.kind = attribute_kind::string;
            value.string.assign(v.GetString(), v.GetStringLength());
        } else {
            throw error(error_code::internal, "stored attribute has an unexpected JSON type");
        }
        attributes.insert_or_assign(std::string(m.name.GetString(), m.name.GetStringLength()),
                                    std::move(value));
    }
    return attributes;
}

}  // namespace invsys
