#include "plugins/declaration_checks.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

namespace invsys {
namespace {

constexpr std::size_t max_name_length = 64;

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_known_kind(attribute_kind kind) {
    switch (kind) {
        case attribute_kind::integer:
        case attribute_kind::number:
        case attribute_kind::string:
        case attribute_kind::boolean:
            return true;
    }
    // A plugin can hand over any value of the underlying integer.
    return false;
}

std::optional<std::string> spec_problem(const attribute_spec& spec) {
    const std::string& n = spec.name;
    if (n.empty() || n.size() > max_name_length || !is_lower(n.front()) ||
        !std::all_of(n.begin(), n.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_'; })) {
        return "invalid attribute name " + in_quotes(n) + ": expected [a-z][a-z0-9_]{0,63}";
    }
    if (!is_known_kind(spec.kind)) return "attribute " + in_quotes(n) + " has an unknown kind";

    const bool numeric =
        spec.kind == attribute_kind::integer || spec.kind == attribute_kind::number;
    const std::array bounds{spec.minimum, spec.exclusive_minimum, spec.maximum,
                            spec.exclusive_maximum};
    for (const auto& bound : bounds) {
        if (!bound) continue;
        if (!numeric) return "attribute " + in_quotes(n) + " has bounds but is not numeric";
        if (!std::isfinite(*bound)) return "attribute " + in_quotes(n) + " has a non-finite bound";
    }
    // An empty range would refuse every value, which is surely a mistake.
    const std::array<std::pair<std::optional<double>, bool>, 2> lows{
        std::pair{spec.minimum, false}, std::pair{spec.exclusive_minimum, true}};
    const std::array<std::pair<std::optional<double>, bool>, 2> highs{
        std::pair{spec.maximum, false}, std::pair{spec.exclusive_maximum, true}};
    for (const auto& [low, low_exclusive] : lows) {
        for (const auto& [high, high_exclusive] : highs) {
            if (!low || !high) continue;
            const bool empty = (low_exclusive || high_exclusive) ? *low >= *high : *low > *high;
            if (empty) return "attribute " + in_quotes(n) + " has an empty range";
        }
    }
    if (spec.max_length && spec.kind != attribute_kind::string) {
        return "attribute " + in_quotes(n) + " has max_length but is not a string";
    }
    return std::nullopt;
}

}  // namespace

std::string in_quotes(std::string_view text) {
    // Appending rather than "'" + std::string(text) sidesteps a false
    // -Wrestrict from GCC 12 at -O3 (GCC bug 105329).
    std::string quoted;
    quoted.reserve(text.size() + 2);
    quoted.append(1, '\'').append(text).append(1, '\'');
    return quoted;
}

std::optional<std::string> type_name_problem(std::string_view name) {
    if (name.empty() || name.size() > max_name_length ||
        !(is_lower(name.front()) || is_upper(name.front())) ||
        !std::all_of(name.begin(), name.end(), [](char c) {
            return is_lower(c) || is_upper(c) || is_digit(c) || c == '_' || c == '-';
        })) {
        return "invalid type name " + in_quotes(name) + ": expected [A-Za-z][A-Za-z0-9_-]{0,63}";
    }
    return std::nullopt;
}

std::optional<std::string> collection_problem(std::string_view collection,
                                              const std::vector<std::string>& reserved) {
    if (std::find(reserved.begin(), reserved.end(), collection) != reserved.end()) {
        return "collection " + in_quotes(collection) + " is reserved by the API";
    }
    if (collection.empty() || collection.size() > max_name_length ||
        !std::all_of(collection.begin(), collection.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; })) {
        return "invalid collection " + in_quotes(collection) + ": expected [a-z0-9_-]{1,64}";
    }
    return std::nullopt;
}

std::optional<std::string> attribute_specs_problem(const std::vector<attribute_spec>& specs) {
    std::set<std::string_view> seen;
    for (const auto& spec : specs) {
        if (auto problem = spec_problem(spec)) return problem;
        if (!seen.insert(spec.name).second) return "duplicate attribute " + in_quotes(spec.name);
    }
    return std::nullopt;
}

std::optional<std::string> allocation_rules_problem(const allocation_rules& rules) {
    constexpr std::int64_t max_span_us = 366LL * 24 * 3600 * 1000 * 1000;
    const auto span_ok = [&](std::int64_t us) { return us >= 0 && us <= max_span_us; };
    if (!span_ok(rules.buffer_before_us) || !span_ok(rules.buffer_after_us))
        return "rules: buffers must be 0 to 366 days";
    if (!span_ok(rules.min_notice_us)) return "rules: minimum notice must be 0 to 366 days";
    const auto type_ok = [](const std::string& t) { return !t.empty() && t.size() <= 32; };
    for (std::size_t i = 0; i < rules.allocation_types.size(); ++i) {
        const std::string& t = rules.allocation_types[i];
        if (!type_ok(t))
            return "rules: allocation type " + in_quotes(t) + " is not 1-32 characters";
        for (std::size_t j = 0; j < i; ++j)
            if (rules.allocation_types[j] == t)
                return "rules: allocation type " + in_quotes(t) + " is listed twice";
    }
    for (std::size_t i = 0; i < rules.durations.size(); ++i) {
        const duration_rule& d = rules.durations[i];
        if (!type_ok(d.allocation_type))
            return "rules: duration rule for " + in_quotes(d.allocation_type) +
                   " is not for a 1-32 character allocation type";
        for (std::size_t j = 0; j < i; ++j)
            if (rules.durations[j].allocation_type == d.allocation_type)
                return "rules: two duration rules for " + in_quotes(d.allocation_type);
        if ((d.min_us && *d.min_us <= 0) || (d.max_us && *d.max_us <= 0))
            return "rules: durations of " + in_quotes(d.allocation_type) + " must be positive";
        if (d.min_us && d.max_us && *d.min_us > *d.max_us)
            return "rules: minimum duration of " + in_quotes(d.allocation_type) +
                   " is above its maximum";
    }
    return std::nullopt;
}

}  // namespace invsys
