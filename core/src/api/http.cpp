#include "api/http.hpp"

#include "json/codec.hpp"

namespace invsys {

const std::string* http_request::header(std::string_view lower_case_name) const noexcept {
    for (const auto& [name, value] : headers) {
        if (name == lower_case_name) return &value;
    }
    return nullptr;
}

http_response json_response(int status, std::string body) {
    http_response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = std::move(body);
    return r;
}

http_response empty_response(int status) {
    http_response r;
    r.status = status;
    return r;
}

http_response problem_response(const error& failure) {
    http_response r;
    r.status = http_status(failure.code());
    r.headers.emplace_back("Content-Type", "application/problem+json");
    // RFC 6750 §3: a 401 names the scheme the client should use.
    if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"invsys\"");
    if (r.status == 503 || r.status == 507)
        r.headers.emplace_back("Retry-After", std::to_string(unavailable_retry_after_s));
    r.body = encode_problem(failure, r.status);
    return r;
}

http_response method_not_allowed_response(std::string_view method,
                                          const std::vector<std::string>& allowed) {
    http_response r = problem_response(
        error(error_code::method_not_allowed, std::string(method) + " is not allowed here"));
    std::string allow;
    for (const auto& m : allowed) {
        if (!allow.empty()) allow += ", ";
        allow += m;
    }
    r.headers.emplace_back("Allow", std::move(allow));
    return r;
}

}  // namespace invsys
