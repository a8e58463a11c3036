// Request bodies -> resource_input / allocation_input.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <set>

#include "json/codec.hpp"

namespace invsys {
namespace {

constexpr std::size_t max_dump_bytes = 16 * 1024;

// Iterative: Debian's RapidJSON 1.1.0 recurses per nesting level otherwise
// (CVE-2024-38517). No kParseStopWhenDoneFlag: trailing text is an error.
// Full precision: the fast number path can be one unit in the last place
// off, and a bound such as 9.95 must mean exactly what the client wrote.
constexpr unsigned parse_flags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag;

// Forwards SAX events to the document being built and stops the parse at
// the first container deeper than max_json_depth, so the DOM never holds
// more levels than that: its destructor and Accept() recurse per level.
class depth_limited_handler {
  public:
    explicit depth_limited_handler(rapidjson::Document& document) noexcept : next_(document) {}

    bool too_deep() const noexcept { return too_deep_; }
    bool has_surrogate() const noexcept { return has_surrogate_; }

    bool Null() { return next_.Null(); }
    bool Bool(bool b) { return next_.Bool(b); }
    bool Int(int i) { return next_.Int(i); }
    bool Uint(unsigned u) { return next_.Uint(u); }
    bool Int64(std::int64_t i) { return next_.Int64(i); }
    bool Uint64(std::uint64_t u) { return next_.Uint64(u); }
    bool Double(double d) { return next_.Double(d); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
        return next_.RawNumber(s, n, copy);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy) {
        return accept_text(s, n) && next_.String(s, n, copy);
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy) {
        return accept_text(s, n) && next_.Key(s, n, copy);
    }
    bool StartObject() { return enter() && next_.StartObject(); }
    bool EndObject(rapidjson::SizeType members) {
        --depth_;
        return next_.EndObject(members);
    }
    bool StartArray() { return enter() && next_.StartArray(); }
    bool EndArray(rapidjson::SizeType elements) {
        --depth_;
        return next_.EndArray(elements);
    }

  private:
    // kParseValidateEncodingFlag checks the input bytes, but RapidJSON 1.1.0
    // turns a lone low-surrogate escape ("\udc00") into the bytes ED B0 80,
    // which are not UTF-8. Such text would be stored and served as invalid
    // UTF-8, so it is refused here (in UTF-8, only surrogates start ED A0–BF).
    bool accept_text(const char* s, rapidjson::SizeType n) noexcept {
        for (rapidjson::SizeType i = 0; i + 1 < n; ++i) {
            if (static_cast<unsigned char>(s[i]) == 0xED &&
                static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
                has_surrogate_ = true;
                return false;
            }
        }
        return true;
    }

    bool enter() noexcept {
        if (++depth_ <= max_json_depth) return true;
        too_deep_ = true;
        return false;
    }

    rapidjson::Document& next_;
    std::size_t depth_ = 0;
    bool too_deep_ = false;
    bool has_surrogate_ = false;
};

api_error not_an_object() {
    return api_error(error_code::invalid, "request body must be a JSON object");
}

api_error parse_error(rapidjson::ParseErrorCode code, std::size_t offset) {
    return api_error(error_code::invalid, std::string("request body is not valid JSON: ") +
                                              rapidjson::GetParseError_En(code) + " (at byte " +
                                              std::to_string(offset) + ")");
}

// Fills `document` from `body`, or throws the api_error a client should see.
void parse_body(std::string_view body, rapidjson::Document& document) {
    if (body.size() > max_json_bytes)
        throw api_error(error_code::payload_too_large,
                        "request body is larger than " + std::to_string(max_json_bytes) + " bytes");
    if (body.empty()) throw not_an_object();

    rapidjson::ParseResult result;
    bool too_deep = false;
    bool has_surrogate = false;
    std::size_t end = 0;
    auto generator = [&](rapidjson::Document& target) {
        rapidjson::MemoryStream in(body.data(), body.size());
        depth_limited_handler handler(target);
        rapidjson::Reader reader;
        result = reader.Parse<parse_flags>(in, handler);
        too_deep = handler.too_deep();
        has_surrogate = handler.has_surrogate();
        end = in.Tell();
        // MemoryStream reads a NUL byte as its end: text after one would
        // otherwise pass unseen.
        return !result.IsError() && end == body.size();
    };
    document.Populate(generator);

    if (too_deep)
        throw api_error(error_code::invalid, "request body is nested more than " +
                                                 std::to_string(max_json_depth) + " levels deep");
    if (has_surrogate)
        throw api_error(error_code::invalid,
                        "request body is not valid JSON: a string holds a lone surrogate escape");
    if (result.Code() == rapidjson::kParseErrorDocumentEmpty) throw not_an_object();
    if (result.IsError()) throw parse_error(result.Code(), result.Offset());
    if (end != body.size()) throw parse_error(rapidjson::kParseErrorDocumentRootNotSingular, end);
    if (!document.IsObject()) throw not_an_object();
}

std::string_view text_of(const rapidjson::Value& v) noexcept {
    return {v.GetString(), v.GetStringLength()};
}

// Collects every problem of one body so the client can fix them in one go.
class field_errors {
  public:
    void add(std::string field, std::string message) {
        errors_.push_back({std::move(field), std::move(message)});
    }

    void throw_if_any() {
        if (errors_.empty()) return;
        std::string detail;
        for (const auto& e : errors_) {
            if (!detail.empty()) detail += "; ";
            detail += e.field + ": " + e.message;
        }
        api_error error(error_code::invalid, std::move(detail));
        error.errors = std::move(errors_);
        throw error;
    }

  private:
    std::vector<field_error> errors_;
};

// A repeated key is an error rather than a silent "last one wins".
class key_set {
  public:
    // True the first time `key` is seen; otherwise reports `field` once more.
    bool first_sighting(std::string_view key, std::string field, field_errors& errors) {
        if (seen_.insert(key).second) return true;
        errors.add(std::move(field), "given more than once");
        return false;
    }

  private:
    std::set<std::string_view> seen_;  // views into the document
};

void take_string(const rapidjson::Value& v, std::string_view field, std::optional<std::string>& out,
                 field_errors& errors) {
    if (v.IsNull()) return;
    if (!v.IsString()) return errors.add(std::string(field), "must be a string");
    out.emplace(text_of(v));
}

void take_flag(const rapidjson::Value& v, std::string_view field, bool& out, field_errors& errors) {
    if (v.IsNull()) return;
    if (!v.IsBool()) return errors.add(std::string(field), "must be a boolean");
    out = v.GetBool();
}

// JSON Schema's rule: a number with a zero fraction is an integer, so 5.0
// is accepted where an integer is declared, and stored as 5.
bool integral_int64(double d, std::int64_t& out) noexcept {
    constexpr double two_63 = 9223372036854775808.0;
    if (!(d >= -two_63 && d < two_63) || std::trunc(d) != d) return false;
    out = static_cast<std::int64_t>(d);
    return true;
}

raw_attribute to_raw_attribute(const rapidjson::Value& v) {
    using kind = raw_attribute::json_kind;
    raw_attribute a{};
    a.kind = kind::object;
    if (v.IsBool()) {
        a.kind = kind::boolean;
        a.boolean = v.GetBool();
    } else if (v.IsInt64()) {
        a.kind = kind::integer;
        a.integer = v.GetInt64();
        a.number = static_cast<double>(a.integer);
    } else if (v.IsNumber()) {
        a.number = v.GetDouble();
        a.kind = integral_int64(a.number, a.integer) ? kind::integer : kind::number;
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
                     field_errors& errors) {
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

void take_dump(const rapidjson::Value& v, std::optional<std::string>& out, field_errors& errors) {
    if (v.IsNull()) return;
    if (!v.IsObject()) return errors.add("dump", "must be an object");
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    v.Accept(writer);
    if (buffer.GetSize() > max_dump_bytes) return errors.add("dump", "must be at most 16 KiB");
    out.emplace(buffer.GetString(), buffer.GetSize());
}

}  // namespace

resource_input decode_resource_input(std::string_view body) {
    rapidjson::Document document;
    parse_body(body, document);
    resource_input input;
    field_errors errors;
    key_set fields;
    for (const auto& m : document.GetObject()) {
        const std::string_view field = text_of(m.name);
        if (!fields.first_sighting(field, std::string(field), errors)) continue;
        if (field == "name")
            take_string(m.value, field, input.name, errors);
        else if (field == "attributes")
            take_attributes(m.value, input.attributes, errors);
        else
            errors.add(std::string(field), "unknown field");
    }
    errors.throw_if_any();
    return input;
}

allocation_input decode_allocation_input(std::string_view body) {
    rapidjson::Document document;
    parse_body(body, document);
    allocation_input input;
    field_errors errors;
    key_set fields;
    for (const auto& m : document.GetObject()) {
        const std::string_view field = text_of(m.name);
        if (!fields.first_sighting(field, std::string(field), errors)) continue;
        if (field == "from_datetime")
            take_string(m.value, field, input.from_datetime, errors);
        else if (field == "to_datetime")
            take_string(m.value, field, input.to_datetime, errors);
        else if (field == "from_infinity")
            take_flag(m.value, field, input.from_infinity, errors);
        else if (field == "to_infinity")
            take_flag(m.value, field, input.to_infinity, errors);
        else if (field == "allocation_type")
            take_string(m.value, field, input.allocation_type, errors);
        else if (field == "description")
            take_string(m.value, field, input.description, errors);
        else if (field == "dump")
            take_dump(m.value, input.dump_json, errors);
        else
            errors.add(std::string(field), "unknown field");
    }
    errors.throw_if_any();
    return input;
}

}  // namespace invsys
