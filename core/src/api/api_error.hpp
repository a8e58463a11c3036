// The one exception type of core. Thrown anywhere below the router, turned
// into problem+json at exactly one catch site (api/service.cpp).
#pragma once

#include <invsys/http_status.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace invsys {

enum class error_code {
    invalid,              // 400
    not_found,            // 404
    method_not_allowed,   // 405, with allow
    conflict,             // 409, with conflicts when they are allocations/resources
    precondition_failed,  // 412
    payload_too_large,    // 413
    unprocessable,        // 422
    unavailable,          // 503, with retry_after_s
    internal,             // 500: a bug, never bad input
};

struct field_error {
    std::string field;
    std::string message;
};

class api_error : public std::runtime_error {
public:
    api_error(error_code code, std::string detail)
        : std::runtime_error(detail), code_(code) {}

    error_code code() const noexcept { return code_; }

    std::vector<field_error> errors;      // validation errors, per field
    std::vector<std::string> conflicts;   // ids of conflicting entities
    std::vector<std::string> allow;       // methods, for 405
    unsigned retry_after_s = 0;           // for 503

private:
    error_code code_;
};

int http_status(error_code code) noexcept;

// Convenience: a 400 naming one field.
api_error invalid_field(std::string field, std::string message);

}  // namespace invsys
