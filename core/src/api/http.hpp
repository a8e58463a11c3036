// Building http_responses: JSON bodies, problem+json, empty answers.
#pragma once

#include "api/api_error.hpp"

#include <invsys/service.hpp>

#include <string>

namespace invsys {

http_response json_response(int status, std::string body);
http_response empty_response(int status);
// The RFC 9457 answer to `error`, with Allow (405) and Retry-After (503).
http_response problem_response(const api_error& error);

}  // namespace invsys
