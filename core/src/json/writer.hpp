// RapidJSON's writer with string_view helpers, shared by every encoder
// (entities, problems, keys, schemas).
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace invsys {

// RapidJSON 1.1's Writer escapes and copies a string a byte at a time
// (its SIMD scan needs RAPIDJSON_SSE2 for every user of RapidJSON, and
// then the reader reads past buffers too); a page of 100 resources spent
// a third of its work there. This writer copies a string that needs no
// escaping in one piece and leaves every other string to RapidJSON: the
// same bytes either way, since RapidJSON escapes exactly '"', '\\' and
// the bytes below 0x20 and copies every other byte as it is (UTF-8 to
// UTF-8, unvalidated; the parser validated what came in).
// True when `s` holds a byte RapidJSON escapes: '"', '\\' or one below 0x20.
// Eight bytes per step (the classic "has a zero byte" / "has a byte less
// than n" word tests, exact as yes/no answers): the byte-by-byte scan was
// the largest part of writing a page of resources.
inline bool needs_json_escape(std::string_view s) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    const char* p = s.data();
    std::size_t left = s.size();
    for (; left >= 8; p += 8, left -= 8) {
        std::uint64_t x;
        std::memcpy(&x, p, 8);
        const std::uint64_t quote = x ^ (ones * '"');
        const std::uint64_t backslash = x ^ (ones * '\\');
        const std::uint64_t found = ((x - ones * 0x20) & ~x) | ((quote - ones) & ~quote) |
                                    ((backslash - ones) & ~backslash);
        if ((found & highs) != 0) return true;
    }
    for (; left > 0; ++p, --left) {
        const auto b = static_cast<unsigned char>(*p);
        if (b < 0x20 || b == '"' || b == '\\') return true;
    }
    return false;
}

class json_writer : public rapidjson::Writer<rapidjson::StringBuffer> {
  public:
    using rapidjson::Writer<rapidjson::StringBuffer>::Writer;

    // A string value, or an object's key: Prefix() tells them apart.
    bool plain_string(std::string_view s) {
        if (needs_json_escape(s))
            return String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
        Prefix(rapidjson::kStringType);
        char* out = os_->Push(s.size() + 2);
        out[0] = '"';
        if (!s.empty()) std::memcpy(out + 1, s.data(), s.size());
        out[s.size() + 1] = '"';
        return EndValue(true);
    }

    // RawValue in one copy: `json` is a complete value of type `type`.
    bool raw_value(std::string_view json, rapidjson::Type type) {
        Prefix(type);
        if (!json.empty()) std::memcpy(os_->Push(json.size()), json.data(), json.size());
        return EndValue(true);
    }
};

inline void write_string(json_writer& w, std::string_view s) { w.plain_string(s); }

inline void write_key(json_writer& w, std::string_view k) { w.plain_string(k); }

}  // namespace invsys
