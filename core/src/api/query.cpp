#include "api/query.hpp"

#include <algorithm>

#include "error/error.hpp"
#include "time/timestamp.hpp"
#include "util/text.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~' || c == ':';
        if (unreserved) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace

query_params::query_params(std::string_view query, std::initializer_list<std::string_view> known) {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        std::string name, value;
        if (!percent_decode(pair.substr(0, eq), name) ||
            (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value))) {
            throw invalid_field("query", "malformed percent-encoding");
        }
        // Parameters reach SQL as text: PostgreSQL refuses invalid UTF-8 and
        // libpq stops at NUL, so both are the client's error on every backend.
        if (!is_valid_utf8(name) || !is_valid_utf8(value) || name.find('\0') != std::string::npos ||
            value.find('\0') != std::string::npos) {
            throw invalid_field("query", "parameters must be UTF-8 text without NUL");
        }
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            throw invalid_field(name, "unknown query parameter");
        }
        if (get(name)) throw invalid_field(name, "given more than once");
        params_.emplace_back(std::move(name), std::move(value));
    }
}

const std::string* query_params::get(std::string_view name) const noexcept {
    for (const auto& [key, value] : params_) {
        if (key == name) return &value;
    }
    return nullptr;
}

std::size_t query_params::limit() const {
    const std::string* text = get("limit");
    if (!text) return default_page_size;
    const bool digits =
        !text->empty() && text->size() <= 4 &&
        std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
    const std::size_t value = digits ? std::stoul(*text) : 0;
    if (value < 1 || value > max_page_size) {
        throw invalid_field("limit",
                            "must be an integer from 1 to " + std::to_string(max_page_size));
    }
    return value;
}

std::optional<std::string> query_params::after() const {
    const std::string* text = get("after");
    if (!text) return std::nullopt;
    if (!is_uuid(*text)) throw invalid_field("after", "unknown id");
    std::string id = *text;
    std::transform(id.begin(), id.end(), id.begin(), [](char c) {
        return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return id;
}

std::optional<std::int64_t> query_params::timestamp(std::string_view name) const {
    const std::string* text = get(name);
    if (!text) return std::nullopt;
    const auto micros = parse_timestamp(*text);
    if (!micros) throw invalid_field(std::string(name), "not an RFC 3339 date-time");
    return micros;
}

bool query_params::flag(std::string_view name, bool fallback) const {
    const std::string* text = get(name);
    if (!text) return fallback;
    if (*text == "true") return true;
    if (*text == "false") return false;
    throw invalid_field(std::string(name), "must be true or false");
}

std::string query_params::next_page_link(std::string_view path, std::string_view last_id) const {
    return next_page_link_with(path, "after", last_id);
}

std::string query_params::next_page_link_with(std::string_view path, std::string_view name,
                                              std::string_view value) const {
    std::string out = "<";
    out += path;
    out += '?';
    for (const auto& [key, param] : params_) {
        if (key == name) continue;
        out += percent_encode(key) + '=' + percent_encode(param) + '&';
    }
    out += percent_encode(name);
    out += '=';
    out += percent_encode(value);
    out += ">; rel=\"next\"";
    return out;
}

}  // namespace invsys
