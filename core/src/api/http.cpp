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

http_response problem_response(const api_error& error) {
    http_response r;
    r.status = http_status(error.code());
    r.headers.emplace_back("Content-Type", "application/problem+json");
    if (!error.allow.empty()) {
        std::string allow;
        for (const auto& method : error.allow) {
            if (!allow.empty()) allow += ", ";
            allow += method;
        }
        r.headers.emplace_back("Allow", std::move(allow));
    }
    if (r.status == 503) {
        r.headers.emplace_back("Retry-After",
                               std::to_string(error.retry_after_s ? error.retry_after_s : 1));
    }
    r.body = encode_problem(error);
    return r;
}

}  // namespace invsys
