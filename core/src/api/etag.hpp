// Strong ETags from row versions, and the If-Match header (RFC 9110
// §8.8.3, §13.1.1) as a condition on them. An ETag names a version of one
// resource or allocation: `"<version>"`, the row's version column (1 when
// created, one more on each change), never a hash of the JSON.
#pragma once

#include <cstdint>
#include <invsys/service.hpp>
#include <string>
#include <string_view>

#include "model.hpp"

namespace invsys {

// `"3"` for version 3.
std::string etag_of(std::int64_t version);

// Adds the ETag header of `version` to `response`.
void add_etag(http_response& response, std::int64_t version);

// The If-Match condition of a request: any version when the header is
// absent or `*`; else the versions its strong entity-tags name. A weak tag
// (W/"3") or one that is not ours never matches (strong comparison), so a
// list of only such tags matches nothing: 412. Empty list elements are
// skipped (RFC 9110 §5.6.1). Throws error(invalid) naming the field
// "If-Match" when the value is not `*` or an entity-tag list.
version_condition parse_if_match(std::string_view value);
version_condition if_match_of(const http_request& request);

}  // namespace invsys
