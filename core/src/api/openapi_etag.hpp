// If-None-Match (RFC 9110 §13.1.2) against the OpenAPI document's ETag:
// the one conditional GET the service answers with 304.
#pragma once

#include <string_view>

namespace invsys {

// True when the header value is `*` or a comma-separated list naming `etag`
// (weak comparison, as If-None-Match takes: W/"x" names "x"). Anything
// malformed names nothing, so the full answer follows; never throws.
bool if_none_match_holds(std::string_view header, std::string_view etag) noexcept;

}  // namespace invsys
