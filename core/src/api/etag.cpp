#include "api/etag.hpp"

#include <charconv>

#include "error/error.hpp"

namespace invsys {
namespace {

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// etagc = %x21 / %x23-7E / obs-text
bool is_etagc(unsigned char c) noexcept { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

[[noreturn]] void malformed(std::string message) {
    throw invalid_field("If-Match", std::move(message));
}

// The version a strong tag's opaque text names: our tags are decimal
// without leading zeros; anything else names no version of ours.
std::optional<std::int64_t> version_named(std::string_view opaque) {
    // Digits only (from_chars would take a sign), the first one not 0.
    if (opaque.empty() || opaque.size() > 19 || opaque.front() < '1' || opaque.front() > '9')
        return std::nullopt;
    std::int64_t version = 0;
    const auto [end, ec] = std::from_chars(opaque.data(), opaque.data() + opaque.size(), version);
    if (ec != std::errc() || end != opaque.data() + opaque.size()) return std::nullopt;
    return version;
}

}  // namespace

std::string etag_of(std::int64_t version) {
    std::string tag = "\"";
    tag.append(std::to_string(version)).push_back('"');
    return tag;
}

void add_etag(http_response& response, std::int64_t version) {
    response.headers.emplace_back("ETag", etag_of(version));
}

version_condition parse_if_match(std::string_view value) {
    std::size_t i = 0;
    const auto skip_ows = [&] {
        while (i < value.size() && is_ows(value[i])) ++i;
    };
    skip_ows();
    if (i < value.size() && value[i] == '*') {
        ++i;
        skip_ows();
        if (i != value.size()) malformed("`*` stands alone or not at all");
        return {};
    }
    version_condition condition;
    condition.any = false;
    bool any_tag = false;
    while (true) {
        skip_ows();
        if (i == value.size()) break;
        if (value[i] == ',') {  // an empty list element
            ++i;
            continue;
        }
        bool weak = false;
        if (value.substr(i, 2) == "W/") {
            weak = true;
            i += 2;
        }
        if (i == value.size() || value[i] != '"')
            malformed("must be `*` or a list of \"entity-tags\"");
        const std::size_t opaque_start = ++i;
        while (i < value.size() && is_etagc(static_cast<unsigned char>(value[i]))) ++i;
        if (i == value.size() || value[i] != '"') malformed("an entity-tag is not closed by '\"'");
        const std::string_view opaque = value.substr(opaque_start, i - opaque_start);
        ++i;
        any_tag = true;
        if (!weak) {
            if (auto version = version_named(opaque)) condition.versions.push_back(*version);
        }
        skip_ows();
        if (i == value.size()) break;
        if (value[i] != ',') malformed("entity-tags are separated by ','");
        ++i;
    }
    if (!any_tag) malformed("must be `*` or a list of \"entity-tags\"");
    return condition;
}

version_condition if_match_of(const http_request& request) {
    const std::string* value = request.header("if-match");
    if (value == nullptr) return {};
    return parse_if_match(*value);
}

}  // namespace invsys
