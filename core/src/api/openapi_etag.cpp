#include "api/openapi_etag.hpp"

namespace invsys {
namespace {

constexpr std::string_view whitespace = " \t";

std::string_view trimmed(std::string_view s) noexcept {
    const auto first = s.find_first_not_of(whitespace);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(whitespace) - first + 1);
}

}  // namespace

bool if_none_match_holds(std::string_view header, std::string_view etag) noexcept {
    if (trimmed(header) == "*") return true;
    // Our tag holds no comma, so splitting at every comma cannot cut a
    // tag that could match.
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view tag = trimmed(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        if (!etag.empty() && tag == etag) return true;
    }
    return false;
}

}  // namespace invsys
