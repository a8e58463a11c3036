// JSON in and out of the API. The only place that includes RapidJSON is
// json/*.cpp; everything else sees these plain types.
//
// Parsing (json_reader.hpp) never lets RapidJSON convert a number, is
// iterative, validates UTF-8, refuses nesting deeper than max_json_depth and
// bodies larger than max_json_bytes; the decoders check the type of every
// field. Failures throw api_error(invalid) with `errors` naming the fields
// (the first max_listed_field_errors of them); a value of `null` counts as
// absent. Numbers are converted with std::from_chars (number_text.hpp).
#pragma once

#include "api/api_error.hpp"
#include "model.hpp"

#include <invsys/resource_type.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invsys {

inline constexpr std::size_t max_json_depth = 64;
inline constexpr std::size_t max_json_bytes = 1024 * 1024;

// One attribute as given in a request, before the type's specs check it.
struct raw_attribute {
    enum class json_kind {
        boolean,
        integer,             // a whole number that fits int64 (5, 5.0, 1e2)
        number,              // any other finite double
        number_out_of_range, // beyond a double, or so small it would read as 0
        string,
        array,
        object
    } kind = json_kind::string;
    bool boolean = false;
    std::int64_t integer = 0;  // kind == integer
    double number = 0;         // kind == integer or number
    std::string string;        // kind == string
};

// `{"name"?, "attributes"?}`. Unknown top-level fields are refused.
struct resource_input {
    std::optional<std::string> name;
    // Given (not null): each non-null member; null members are dropped.
    std::optional<std::vector<std::pair<std::string, raw_attribute>>> attributes;
};

// `{"from_datetime"?, "from_infinity"?, "to_datetime"?, "to_infinity"?,
//   "allocation_type"?, "description"?, "dump"?}`. Times stay text here:
// the API layer parses them so that it can name the field.
struct allocation_input {
    std::optional<std::string> from_datetime;
    bool from_infinity = false;  // true only when given as true
    std::optional<std::string> to_datetime;
    bool to_infinity = false;
    std::optional<std::string> allocation_type;
    std::optional<std::string> description;
    // The object re-serialised compactly, numbers exactly as written.
    std::optional<std::string> dump_json;
};

resource_input decode_resource_input(std::string_view body);
allocation_input decode_allocation_input(std::string_view body);

// Canonical JSON object text of validated attributes (keys sorted).
std::string encode_attributes(const attribute_map& attributes);
// Parses stored attribute JSON back (used when a plugin check needs them).
attribute_map decode_stored_attributes(std::string_view json);

std::string encode_resource(const resource& r);
std::string encode_resources(const std::vector<resource>& rs);
std::string encode_allocation(const allocation& a, std::string_view resource_type);
std::string encode_allocations(const std::vector<allocation>& as, std::string_view resource_type);

// One list page: a JSON array of the leading items whose text fits in
// `max_bytes` (always at least the first one, if any), and how many those
// are; the caller's Link carries on after the last one.
struct encoded_page {
    std::string json;
    std::size_t items = 0;
};
encoded_page encode_resource_page(const std::vector<resource>& rs, std::size_t max_bytes);
encoded_page encode_allocation_page(const std::vector<allocation>& as,
                                    std::string_view resource_type, std::size_t max_bytes);

// GET /api/types: `[{resource_type, collection, attributes: <JSON Schema>}]`.
struct type_description {
    std::string type_name;
    std::string collection;
    std::vector<attribute_spec> attributes;
};
std::string encode_types(const std::vector<type_description>& types);
// The JSON Schema (draft 2020-12) object of one type's attributes.
std::string encode_attribute_schema(const std::vector<attribute_spec>& attributes);

// RFC 9457 problem body for `error`, with `status` and its title.
std::string encode_problem(const api_error& error);

// A flat object of string members, e.g. {"status":"ok","database":"sqlite"}.
std::string encode_string_object(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace invsys
