// Flat bodies built from text that may not have come through the parser:
// problem details (messages can quote a query parameter or a database
// error) and health reports.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <invsys/http_status.hpp>

#include "json/codec.hpp"
#include "util/text.hpp"

namespace invsys {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned lead = byte(i);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    unsigned low = 0x80, high = 0xbf;  // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
    } else {
        return 0;
    }
    if (s.size() - i < length) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k)
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    return length;
}

// The Writer copies bytes as they are; invalid UTF-8 would make the whole
// body invalid JSON, so each bad byte becomes U+FFFD.
void write_string(json_writer& w, std::string_view s) {
    std::string repaired;
    std::size_t done = 0;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = sequence_length(s, i);
        if (n != 0) {
            i += n;
            continue;
        }
        repaired.append(s, done, i - done).append("\xef\xbf\xbd");
        done = ++i;
    }
    if (done != 0) {
        repaired.append(s, done);
        s = repaired;
    }
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_key(json_writer& w, std::string_view k) { write_string(w, k); }

// Bounds on what a problem body quotes, so that no request can make a large
// error answer (API.md: "a few KiB"); the lists are bounded where they are
// built (max_listed_field_errors, the stores' conflict cap), and again here.
constexpr std::size_t max_detail_code_points = 512;
constexpr std::size_t max_message_code_points = 256;
constexpr std::size_t max_listed_conflicts = 100;

}  // namespace

std::string encode_problem(const error& failure, int status) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartObject();
    write_key(w, "type");
    write_string(w, "about:blank");
    write_key(w, "title");
    write_string(w, http_reason_phrase(status));
    write_key(w, "status");
    w.Int(status);
    write_key(w, "detail");
    write_string(w, clip_text(failure.what(), max_detail_code_points));
    if (!failure.errors.empty()) {
        write_key(w, "errors");
        w.StartArray();
        const std::size_t listed = std::min(failure.errors.size(), max_listed_field_errors);
        for (std::size_t i = 0; i < listed; ++i) {
            w.StartObject();
            write_key(w, "field");
            write_string(w, clip_text(failure.errors[i].field, max_quoted_field_code_points));
            write_key(w, "message");
            write_string(w, clip_text(failure.errors[i].message, max_message_code_points));
            w.EndObject();
        }
        w.EndArray();
        const std::size_t total = std::max(failure.errors_total, failure.errors.size());
        if (total > listed) {
            write_key(w, "errors_total");
            w.Uint64(total);
        }
    }
    if (!failure.conflicts.empty()) {
        write_key(w, "conflicts");
        w.StartArray();
        const std::size_t listed = std::min(failure.conflicts.size(), max_listed_conflicts);
        for (std::size_t i = 0; i < listed; ++i) write_string(w, failure.conflicts[i]);
        w.EndArray();
    }
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

std::string encode_string_object(const std::vector<std::pair<std::string, std::string>>& members) {
    rapidjson::StringBuffer buffer;
    json_writer w(buffer);
    w.StartObject();
    for (const auto& [key, value] : members) {
        write_key(w, key);
        write_string(w, value);
    }
    w.EndObject();
    return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace invsys
