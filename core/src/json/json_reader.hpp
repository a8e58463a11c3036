// The one way JSON text becomes a RapidJSON document in invsys (json/*.cpp
// only: this header includes RapidJSON).
//
// Safe on hostile input with Debian's RapidJSON 1.1.0:
// - Numbers: its number conversion has an exponent underflow
//   (CVE-2024-38517) and an out-of-bounds table read (upstream issue #1251,
//   a SIGSEGV measured here), and its scan refuses valid numbers beyond
//   1e308. So RapidJSON never sees number text: every number token of the
//   input is masked as "0" padded with spaces (same length, same structure),
//   and the handler takes the original text from the input instead. Each
//   number lands in the document as a *number string*: a string value whose
//   first byte is number_marker (0xFF, which never begins a parsed string:
//   encoding is validated and 0xFF is never UTF-8). Read numbers only
//   through is_number()/number_text(), and write documents only through
//   write_json(), which puts the number text back exactly as given.
// - Nesting: iterative parsing, and at most max_json_depth levels in the
//   document (its destructor and Accept() recurse per level).
// - Text: UTF-8 validated, lone surrogate escapes refused, trailing text and
//   NUL bytes refused.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>

namespace invsys {

inline constexpr char number_marker = '\xff';

// Parses `text` into `document`. Throws error(invalid) naming what is
// wrong (with the byte offset) and error(payload_too_large) above
// max_json_bytes. Any JSON value is accepted at the top; callers check it.
void parse_json(std::string_view text, rapidjson::Document& document);

inline bool is_number(const rapidjson::Value& v) noexcept {
    return v.IsString() && v.GetStringLength() > 0 && v.GetString()[0] == number_marker;
}

// A JSON string value that is not a number string.
inline bool is_text(const rapidjson::Value& v) noexcept { return v.IsString() && !is_number(v); }

// The number as the client wrote it; `v` must be a number string.
inline std::string_view number_text(const rapidjson::Value& v) noexcept {
    return {v.GetString() + 1, v.GetStringLength() - 1};
}

// Writes `v` compactly, numbers exactly as they were given.
void write_json(const rapidjson::Value& v, rapidjson::Writer<rapidjson::StringBuffer>& writer);

}  // namespace invsys
