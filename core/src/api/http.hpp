// Building http_responses: JSON bodies, problem+json, empty answers.
#pragma once

#include <invsys/service.hpp>
#include <string>
#include <vector>

#include "error/error.hpp"

namespace invsys {

http_response json_response(int status, std::string body);
http_response empty_response(int status);
// The one mapping of core's errors to HTTP: the status of each code.
int http_status(error_code code) noexcept;

// The Retry-After (seconds) of an unavailable error: a busy or unreachable
// database is worth retrying at once.
inline constexpr unsigned unavailable_retry_after_s = 1;

// The RFC 9457 answer to `failure`, with Retry-After for 503.
http_response problem_response(const error& failure);

// 405 for a path that takes only `allowed` (for its Allow header).
http_response method_not_allowed_response(std::string_view method,
                                          const std::vector<std::string>& allowed);

}  // namespace invsys
