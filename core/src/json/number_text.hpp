// JSON numbers as text: the grammar, the scan for number tokens, and the
// conversion with std::from_chars. No RapidJSON here: Debian's RapidJSON
// 1.1.0 converts number text unsafely (CVE-2024-38517, upstream issue
// #1251), so number text never reaches it (see json_reader.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace invsys {

// True when `text` is exactly one number of RFC 8259's grammar:
// [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ("e"/"E") ["+"/"-"] 1*DIGIT ].
bool is_json_number(std::string_view text) noexcept;

// Where the next number token begins at or after `from`, outside strings,
// with its length: a maximal run of number characters (digits, "+-.eE")
// that starts with a digit or "-". The run is not checked against the
// grammar (is_json_number does that). `from` must not be inside a string.
// Returns {npos, 0} when there is none.
struct number_token {
    std::size_t offset;
    std::size_t length;
};
number_token next_number_token(std::string_view json, std::size_t from) noexcept;

// The value of a number that is_json_number accepted.
struct number_value {
    enum class kind {
        integer,       // fits int64: `integer` (and `number`, rounded) are set
        number,        // a finite double: `number` is set
        out_of_range,  // beyond a double, or so close to 0 that it would read as 0
    };
    kind what = kind::out_of_range;
    std::int64_t integer = 0;
    double number = 0;
};
number_value convert_json_number(std::string_view text) noexcept;

}  // namespace invsys
