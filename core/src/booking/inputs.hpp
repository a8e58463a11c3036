// What a client asks for, decoded from its body (json/decode.cpp) but not
// yet checked against the rules (booking/rules.hpp, attribute_validation).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace invsys {

// One attribute as given in a request, before the type's specs check it.
struct raw_attribute {
    enum class json_kind {
        boolean,
        integer,              // a whole number that fits int64 (5, 5.0, 1e2)
        number,               // any other finite double
        number_out_of_range,  // beyond a double, or so small it would read as 0
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
// the booking rules parse them so that they can name the field.
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

}  // namespace invsys
