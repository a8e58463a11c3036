#include "booking/attribute_validation.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <set>

#include "util/text.hpp"

namespace invsys {
namespace {

using json_kind = raw_attribute::json_kind;

// 2^63: the first double above every int64.
constexpr double int64_limit = 9223372036854775808.0;

// Shortest text that reads back as `value`, so that a bound of 9 reads "9"
// and not "9.000000".
std::string format_number(double value) {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

// Compares an integer with a double exactly (converting the integer to
// double would round values above 2^53). Returns <0, 0 or >0.
int compare(std::int64_t value, double bound) {
    if (bound >= int64_limit) return -1;
    if (bound < -int64_limit) return 1;
    const double whole = std::trunc(bound);
    const auto whole_int = static_cast<std::int64_t>(whole);
    if (value != whole_int) return value < whole_int ? -1 : 1;
    const double fraction = bound - whole;
    return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

int compare(const attribute_value& value, double bound) {
    if (value.kind == attribute_kind::integer) return compare(value.integer, bound);
    return value.number < bound ? -1 : value.number > bound ? 1 : 0;
}

// The declared range as a phrase for the error message.
std::string range_phrase(const attribute_spec& spec) {
    if (spec.minimum && spec.maximum && !spec.exclusive_minimum && !spec.exclusive_maximum) {
        return "must be between " + format_number(*spec.minimum) + " and " +
               format_number(*spec.maximum);
    }
    std::vector<std::string> parts;
    if (spec.minimum) parts.push_back("at least " + format_number(*spec.minimum));
    if (spec.exclusive_minimum)
        parts.push_back("greater than " + format_number(*spec.exclusive_minimum));
    if (spec.maximum) parts.push_back("at most " + format_number(*spec.maximum));
    if (spec.exclusive_maximum)
        parts.push_back("less than " + format_number(*spec.exclusive_maximum));
    std::string phrase = "must be";
    for (std::size_t i = 0; i < parts.size(); ++i) phrase += (i == 0 ? " " : " and ") + parts[i];
    return phrase;
}

bool within_range(const attribute_value& value, const attribute_spec& spec) {
    return (!spec.minimum || compare(value, *spec.minimum) >= 0) &&
           (!spec.exclusive_minimum || compare(value, *spec.exclusive_minimum) > 0) &&
           (!spec.maximum || compare(value, *spec.maximum) <= 0) &&
           (!spec.exclusive_maximum || compare(value, *spec.exclusive_maximum) < 0);
}

// A JSON integer is a valid value of both numeric kinds.
void take_integer(const raw_attribute& raw, attribute_value& out) noexcept {
    out.integer = raw.integer;
    out.number = static_cast<double>(raw.integer);
}

// Converts `raw` to the spec's kind; the error message when it cannot.
std::optional<std::string> convert(const raw_attribute& raw, const attribute_spec& spec,
                                   attribute_value& out) {
    out.kind = spec.kind;
    const bool numeric =
        spec.kind == attribute_kind::integer || spec.kind == attribute_kind::number;
    if (numeric && raw.kind == json_kind::number_out_of_range) return "is out of range";
    if (numeric && raw.kind == json_kind::integer) {
        take_integer(raw, out);
        return std::nullopt;
    }
    switch (spec.kind) {
        case attribute_kind::integer:
            if (raw.kind == json_kind::number) {
                if (!std::isfinite(raw.number)) return "must be a finite number";
                // 5.0 is the integer 5 in JSON's eyes; 5.5 and 1e300 are not.
                if (std::trunc(raw.number) == raw.number && raw.number >= -int64_limit &&
                    raw.number < int64_limit) {
                    out.integer = static_cast<std::int64_t>(raw.number);
                    out.number = raw.number;
                    return std::nullopt;
                }
            }
            return "must be an integer";
        case attribute_kind::number:
            if (raw.kind == json_kind::number) {
                if (!std::isfinite(raw.number)) return "must be a finite number";
                out.number = raw.number;
                return std::nullopt;
            }
            return "must be a number";
        case attribute_kind::string:
            if (raw.kind != json_kind::string) return "must be a string";
            if (spec.max_length && code_points(raw.string) > *spec.max_length) {
                return "must be at most " + std::to_string(*spec.max_length) + " characters";
            }
            out.string = raw.string;
            return std::nullopt;
        case attribute_kind::boolean:
            if (raw.kind != json_kind::boolean) return "must be a boolean";
            out.boolean = raw.boolean;
            return std::nullopt;
    }
    return "has a kind this server does not know";  // refused at load; kept total
}

}  // namespace

attribute_map validate_attributes(const loaded_type& type,
                                  const std::vector<std::pair<std::string, raw_attribute>>& given) {
    field_error_list errors;
    attribute_map result;
    std::set<std::string_view> seen;
    for (const auto& entry : given) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture
        // one in the lambda below.
        const std::string& key = entry.first;
        const raw_attribute& raw = entry.second;
        const std::string field = "attributes." + key;
        if (!seen.insert(key).second) {
            // The codec may hand over both copies of a repeated key; which one
            // was meant is not ours to guess.
            errors.add(field, "duplicate attribute");
            continue;
        }
        auto spec = std::find_if(type.attributes.begin(), type.attributes.end(),
                                 [&](const attribute_spec& s) { return s.name == key; });
        if (spec == type.attributes.end()) {
            errors.add(field, "unknown attribute");
            continue;
        }
        attribute_value value;
        if (auto problem = convert(raw, *spec, value)) {
            errors.add(field, std::move(*problem));
            continue;
        }
        const bool numeric =
            spec->kind == attribute_kind::integer || spec->kind == attribute_kind::number;
        if (numeric && !within_range(value, *spec)) {
            errors.add(field, range_phrase(*spec));
            continue;
        }
        result.insert_or_assign(key, std::move(value));
    }

    // The plugin's own rules may assume every value already passed its spec.
    if (errors.empty() && type.impl != nullptr) {
        for (auto& violation : type.impl->check_attributes(result)) {
            errors.add(violation.field.empty() ? "attributes" : violation.field,
                       std::move(violation.message));
        }
    }
    std::move(errors).throw_if_any();
    return result;
}

}  // namespace invsys
