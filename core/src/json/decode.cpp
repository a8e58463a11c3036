// Request bodies -> resource_input / allocation_input.
#include <set>

#include "json/codec.hpp"
#include "json/json_reader.hpp"
#include "json/number_text.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

constexpr std::size_t max_dump_bytes = 16 * 1024;

std::string_view text_of(const rapidjson::Value& v) noexcept {
    return {v.GetString(), v.GetStringLength()};
}

// Fills `document` from `body`, which must hold a JSON object.
void parse_object(std::string_view body, rapidjson::Document& document) {
    parse_json(body, document);
    if (!document.IsObject())
        throw error(error_code::invalid, "request body must be a JSON object");
}

// A repeated key is an error rather than a silent "last one wins".
class key_set {
  public:
    // True the first time `key` is seen; otherwise reports `field` once more.
    bool first_sighting(std::string_view key, std::string_view field, field_error_list& errors) {
        if (seen_.insert(key).second) return true;
        errors.add(field, "given more than once");
        return false;
    }

  private:
    std::set<std::string_view> seen_;  // views into the document
};

void take_string(const rapidjson::Value& v, std::string_view field, std::optional<std::string>& out,
                 field_error_list& errors) {
    if (v.IsNull()) return;
    if (!is_text(v)) return errors.add(field, "must be a string");
    out.emplace(text_of(v));
}

void take_flag(const rapidjson::Value& v, std::string_view field, bool& out,
               field_error_list& errors) {
    if (v.IsNull()) return;
    if (!v.IsBool()) return errors.add(field, "must be a boolean");
    out = v.GetBool();
}

raw_attribute to_raw_attribute(const rapidjson::Value& v) {
    using kind = raw_attribute::json_kind;
    raw_attribute a{};
    a.kind = kind::object;
    if (v.IsBool()) {
        a.kind = kind::boolean;
        a.boolean = v.GetBool();
    } else if (is_number(v)) {
        const number_value n = convert_json_number(number_text(v));
        a.integer = n.integer;
        a.number = n.number;
        a.kind = n.what == number_value::kind::integer  ? kind::integer
                 : n.what == number_value::kind::number ? kind::number
                                                        : kind::number_out_of_range;
    } else if (v.IsString()) {
        a.kind = kind::string;
        a.string = text_of(v);
    } else if (v.IsArray()) {
        a.kind = kind::array;
    }
    return a;
}

void take_attributes(const rapidjson::Value& v,
                     std::optional<std::vector<std::pair<std::string, raw_attribute>>>& out,
                     field_error_list& errors) {
    if (v.IsNull()) return;
    if (!v.IsObject()) return errors.add("attributes", "must be an object");
    auto& attributes = out.emplace();
    key_set names;
    for (const auto& m : v.GetObject()) {
        const std::string_view name = text_of(m.name);
        if (!names.first_sighting(name, "attributes." + std::string(name), errors)) continue;
        if (!m.value.IsNull())
            attributes.emplace_back(std::string(name), to_raw_attribute(m.value));
    }
}

void take_dump(const rapidjson::Value& v, std::optional<std::string>& out,
               field_error_list& errors) {
    if (v.IsNull()) return;
    if (!v.IsObject()) return errors.add("dump", "must be an object");
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    write_json(v, writer);  // numbers exactly as given
    if (buffer.GetSize() > max_dump_bytes) return errors.add("dump", "must be at most 16 KiB");
    out.emplace(buffer.GetString(), buffer.GetSize());
}

}  // namespace

resource_input decode_resource_input(std::string_view body) {
    rapidjson::Document document;
    parse_object(body, document);
    resource_input input;
    field_error_list errors;
    key_set fields;
    for (const auto& m : document.GetObject()) {
        const std::string_view field = text_of(m.name);
        if (!fields.first_sighting(field, field, errors)) continue;
        if (field == "name")
            take_string(m.value, field, input.name, errors);
        else if (field == "attributes")
            take_attributes(m.value, input.attributes, errors);
        else
            errors.add(field, "unknown field");
    }
    std::move(errors).throw_if_any();
    return input;
}

namespace {

// One member of an allocation body; false when `field` is not one.
bool take_allocation_field(std::string_view field, const rapidjson::Value& value,
                           allocation_input& input, field_error_list& errors) {
    if (field == "from_datetime")
        take_string(value, field, input.from_datetime, errors);
    else if (field == "to_datetime")
        take_string(value, field, input.to_datetime, errors);
    else if (field == "from_infinity")
        take_flag(value, field, input.from_infinity, errors);
    else if (field == "to_infinity")
        take_flag(value, field, input.to_infinity, errors);
    else if (field == "allocation_type")
        take_string(value, field, input.allocation_type, errors);
    else if (field == "description")
        take_string(value, field, input.description, errors);
    else if (field == "dump")
        take_dump(value, input.dump_json, errors);
    else
        return false;
    return true;
}

void take_candidates(const rapidjson::Value& v, std::vector<std::string>& out,
                     field_error_list& errors) {
    if (v.IsNull()) return;
    if (!v.IsArray()) return errors.add("candidates", "must be an array of resource ids");
    const auto items = v.GetArray();
    if (items.Empty()) return errors.add("candidates", "must name at least one resource");
    if (items.Size() > max_candidates) {
        return errors.add("candidates",
                          "must name at most " + std::to_string(max_candidates) + " resources");
    }
    std::set<std::string> seen;
    for (rapidjson::SizeType i = 0; i < items.Size(); ++i) {
        const std::string field = "candidates[" + std::to_string(i) + "]";
        if (!is_text(items[i]) || !is_uuid(text_of(items[i]))) {
            errors.add(field, "must be a resource id");
            continue;
        }
        std::string id(text_of(items[i]));
        for (char& c : id)
            if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!seen.insert(id).second) {
            errors.add(field, "names " + id + " again");
            continue;
        }
        out.push_back(std::move(id));
    }
}

}  // namespace

allocation_input decode_allocation_input(std::string_view body) {
    rapidjson::Document document;
    parse_object(body, document);
    allocation_input input;
    field_error_list errors;
    key_set fields;
    for (const auto& m : document.GetObject()) {
        const std::string_view field = text_of(m.name);
        if (!fields.first_sighting(field, field, errors)) continue;
        if (!take_allocation_field(field, m.value, input, errors))
            errors.add(field, "unknown field");
    }
    std::move(errors).throw_if_any();
    return input;
}

any_free_input decode_any_free_input(std::string_view body) {
    rapidjson::Document document;
    parse_object(body, document);
    any_free_input input;
    field_error_list errors;
    key_set fields;
    for (const auto& m : document.GetObject()) {
        const std::string_view field = text_of(m.name);
        if (!fields.first_sighting(field, field, errors)) continue;
        if (field == "candidates")
            take_candidates(m.value, input.candidates, errors);
        else if (!take_allocation_field(field, m.value, input.allocation, errors))
            errors.add(field, "unknown field");
    }
    std::move(errors).throw_if_any();
    return input;
}

}  // namespace invsys
