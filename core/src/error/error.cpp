#include "error/error.hpp"

#include <utility>

#include "util/text.hpp"

namespace invsys {

error invalid_field(std::string field, std::string message) {
    field_error_list errors;
    errors.add(field, std::move(message));
    return std::move(errors).to_error();
}

void field_error_list::add(std::string_view field, std::string message) {
    if (total_++ < max_listed_field_errors)
        listed_.push_back({clip_text(field, max_quoted_field_code_points), std::move(message)});
}

error field_error_list::to_error() && {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive)
    // on chains of operator+ here.
    std::string detail;
    if (listed_.empty()) {
        detail = "request is invalid";
    } else {
        detail.append(listed_.front().field).append(": ").append(listed_.front().message);
    }
    if (total_ > 1) detail.append(" (and ").append(std::to_string(total_ - 1)).append(" more)");
    error failure(error_code::invalid, std::move(detail));
    failure.errors = std::move(listed_);
    failure.errors_total = total_;
    return failure;
}

}  // namespace invsys
