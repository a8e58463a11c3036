// Small text helpers for validation. Inputs are valid UTF-8 (the JSON parser
// validates encoding before anything reaches here).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace invsys {

// Number of Unicode code points in valid UTF-8 text.
std::size_t code_points(std::string_view utf8) noexcept;

// True when the text holds U+0000–U+001F or U+007F.
bool has_control_characters(std::string_view utf8) noexcept;

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF). For text that did not come through the JSON
// parser, such as decoded query parameters.
bool is_valid_utf8(std::string_view bytes) noexcept;

// `text` cut to at most `max_code_points` code points, with "…" appended
// when anything was cut; never splits a UTF-8 sequence. For quoting client
// text (a field name, a query value) in an error without echoing it whole.
std::string clip_text(std::string_view text, std::size_t max_code_points);

// Decodes %XX escapes; '+' stays '+' (RFC 3986 query, not HTML forms, so
// that "+02:00" offsets survive). False on a malformed escape.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace invsys
