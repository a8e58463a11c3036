// The one exception type of core: what went wrong, in the API's words and
// without HTTP. Thrown anywhere in core (json, storage, booking rules, api);
// api/ alone turns it into a status and headers, at one catch site
// (api/service.cpp).
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace invsys {

enum class error_code {
    invalid,               // the request is wrong: fields, body, query
    unauthenticated,       // no credential, or one that names no key
    forbidden,             // the key's role does not allow this
    not_found,             // no such thing (or not of this type)
    method_not_allowed,    // the path exists but does not take this method
    conflict,              // it clashes with what is stored: `conflicts` names it
    precondition_failed,   // a condition the client set does not hold
    payload_too_large,     // the body is over the size limit
    unprocessable,         // well-formed, but cannot be carried out
    unavailable,           // the database is busy or unreachable: worth retrying
    insufficient_storage,  // the database's disk is full: worth retrying later
    internal,              // a bug or a broken invariant, never bad input
};

struct field_error {
    std::string field;
    std::string message;
};

class error : public std::runtime_error {
  public:
    error(error_code code, std::string detail) : std::runtime_error(detail), code_(code) {}

    error_code code() const noexcept { return code_; }

    std::vector<field_error> errors;     // validation errors, per field: the first ones
    std::size_t errors_total = 0;        // how many there were, when more than errors.size()
    std::vector<std::string> conflicts;  // ids of conflicting entities

  private:
    error_code code_;
};

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
    // error(invalid) with the listed errors, errors_total, and a detail
    // naming the first ("name: is required (and 2 more)").
    error to_error() &&;
    void throw_if_any() && {
        if (!empty()) throw std::move(*this).to_error();
    }

  private:
    std::vector<field_error> listed_;
    std::size_t total_ = 0;
};

// An invalid error naming one field.
error invalid_field(std::string field, std::string message);

}  // namespace invsys
