// The one exception type of core. Thrown anywhere below the router, turned
// into problem+json at exactly one catch site (api/service.cpp).
#pragma once

#include <invsys/http_status.hpp>

#include <cstddef>
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

    std::vector<field_error> errors;      // validation errors, per field: the first ones
    std::size_t errors_total = 0;         // how many there were, when more than errors.size()
    std::vector<std::string> conflicts;   // ids of conflicting entities
    std::vector<std::string> allow;       // methods, for 405
    unsigned retry_after_s = 0;           // for 503

private:
    error_code code_;
};

int http_status(error_code code) noexcept;

// A problem body lists at most this many field errors (and the total): a
// body of 100 000 bad fields must not make a 7 MB answer.
inline constexpr std::size_t max_listed_field_errors = 20;
// Field names quoted in errors are cut to this many code points.
inline constexpr std::size_t max_quoted_field_code_points = 64;

// Collects the field errors of one request: the first
// max_listed_field_errors of them, and the count of all.
class field_error_list {
public:
    void add(std::string_view field, std::string message);
    bool empty() const noexcept { return total_ == 0; }
    std::size_t total() const noexcept { return total_; }
    // api_error(invalid) with the listed errors, errors_total, and a detail
    // naming the first ("name: is required (and 2 more)").
    api_error to_error() &&;
    void throw_if_any() && {
        if (!empty()) throw std::move(*this).to_error();
    }

private:
    std::vector<field_error> listed_;
    std::size_t total_ = 0;
};

// Convenience: a 400 naming one field.
api_error invalid_field(std::string field, std::string message);

}  // namespace invsys
