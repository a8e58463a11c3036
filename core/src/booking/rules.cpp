#include "booking/rules.hpp"

#include "booking/type_rules.hpp"
#include "time/timestamp.hpp"
#include "util/text.hpp"

namespace invsys {
namespace {

void check_text(const std::string& field, const std::string& text, std::size_t min_code_points,
                std::size_t max_code_points, std::vector<field_error>& errors) {
    const std::size_t length = code_points(text);
    if (length < min_code_points || length > max_code_points) {
        errors.push_back({field, "must be " + std::to_string(min_code_points) + " to " +
                                     std::to_string(max_code_points) + " characters"});
    } else if (has_control_characters(text)) {
        errors.push_back({field, "must not contain control characters"});
    }
}

// One end of an interval: `datetime` text or the `infinity` flag replaces
// `value`; both at once is an error, neither keeps `value` (or is an error
// when the end is required).
void apply_end(const char* datetime_field, const char* infinity_field,
               const std::optional<std::string>& datetime, bool infinity, std::int64_t open_value,
               bool required, std::int64_t& value, std::vector<field_error>& errors) {
    if (datetime && infinity) {
        errors.push_back({datetime_field, std::string("give either ") + datetime_field + " or " +
                                              infinity_field + ": true, not both"});
    } else if (datetime) {
        if (auto micros = parse_timestamp(*datetime)) {
            value = *micros;
        } else {
            errors.push_back({datetime_field, "not an RFC 3339 date-time"});
        }
    } else if (infinity) {
        value = open_value;
    } else if (required) {
        errors.push_back(
            {datetime_field, std::string("is required (or ") + infinity_field + ": true)"});
    }
}

}  // namespace

void throw_invalid(std::vector<field_error> errors) {
    field_error_list list;
    for (auto& e : errors) list.add(e.field, std::move(e.message));
    throw std::move(list).to_error();
}

void check_name(const std::string& name, std::vector<field_error>& errors) {
    check_text("name", name, 1, max_name_code_points, errors);
}

void apply_allocation_input(const allocation_input& input, allocation_change change,
                            const loaded_type& type, allocation& target) {
    const bool is_new = change == allocation_change::create;
    std::vector<field_error> errors;
    apply_end("from_datetime", "from_infinity", input.from_datetime, input.from_infinity,
              open_start, is_new, target.from_us, errors);
    apply_end("to_datetime", "to_infinity", input.to_datetime, input.to_infinity, open_end, is_new,
              target.to_us, errors);
    if (input.allocation_type) {
        check_text("allocation_type", *input.allocation_type, 1, max_allocation_type_code_points,
                   errors);
        target.allocation_type = *input.allocation_type;
    } else if (is_new) {
        errors.push_back({"allocation_type", "is required"});
    }
    if (input.description) {
        if (code_points(*input.description) > max_description_code_points) {
            errors.push_back(
                {"description",
                 "must be at most " + std::to_string(max_description_code_points) + " characters"});
        } else if (input.description->find('\0') != std::string::npos) {
            // Free text may hold control characters, but not NUL: PostgreSQL
            // cannot store it, and both backends must answer alike.
            errors.push_back({"description", "must not contain U+0000"});
        }
        target.description = input.description;
    }
    if (input.dump_json) target.dump_json = input.dump_json;
    if (errors.empty() && target.from_us >= target.to_us) {
        errors.push_back({"to_datetime", "must be later than the start"});
    }
    if (errors.empty()) {
        const bool start_given = input.from_datetime || input.from_infinity;
        check_type_rules(type.rules, target,
                         is_new || start_given ? start_change::new_start : start_change::same_start,
                         now_micros(), errors);
    }
    if (errors.empty()) {
        const allocation_view view{target.allocation_type, target.from_us, target.to_us};
        for (auto& violation : type.impl->check_allocation(view)) {
            errors.push_back({std::move(violation.field), std::move(violation.message)});
        }
    }
    if (!errors.empty()) throw_invalid(std::move(errors));
    apply_buffers(type.rules, target);
}

}  // namespace invsys
