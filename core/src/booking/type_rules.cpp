#include "booking/type_rules.hpp"

#include <algorithm>

#include "interval/interval.hpp"

namespace invsys {
namespace {

constexpr std::int64_t ms = 1000;
constexpr std::int64_t second = 1000 * ms;
constexpr std::int64_t minute = 60 * second;
constexpr std::int64_t hour = 60 * minute;
constexpr std::int64_t day = 24 * hour;

const duration_rule* duration_of(const allocation_rules& rules, const std::string& type) {
    for (const auto& d : rules.durations)
        if (d.allocation_type == type) return &d;
    return nullptr;
}

std::string listed(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

}  // namespace

std::string describe_span(std::int64_t us) {
    if (us % day == 0) return std::to_string(us / day) + " d";
    if (us % hour == 0) return std::to_string(us / hour) + " h";
    if (us % minute == 0) return std::to_string(us / minute) + " min";
    if (us % second == 0) return std::to_string(us / second) + " s";
    if (us % ms == 0) return std::to_string(us / ms) + " ms";
    return std::to_string(us) + " us";
}

allocation_rules merge_rules(allocation_rules declared, const type_rule_overrides& overrides) {
    if (overrides.allocation_types) declared.allocation_types = *overrides.allocation_types;
    for (const auto& [type, bounds] : overrides.durations) {
        auto& durations = declared.durations;
        // Not the binding itself in the lambda: clang 14 (the fuzz build)
        // cannot capture structured bindings.
        const std::string& overridden = type;
        durations.erase(
            std::remove_if(durations.begin(), durations.end(),
                           [&](const duration_rule& d) { return d.allocation_type == overridden; }),
            durations.end());
        if (bounds.first || bounds.second) durations.push_back({type, bounds.first, bounds.second});
    }
    if (overrides.buffer_before_us) declared.buffer_before_us = *overrides.buffer_before_us;
    if (overrides.buffer_after_us) declared.buffer_after_us = *overrides.buffer_after_us;
    if (overrides.min_notice_us) declared.min_notice_us = *overrides.min_notice_us;
    return declared;
}

void check_type_rules(const allocation_rules& rules, const allocation& a, start_change start,
                      std::int64_t now_us, std::vector<field_error>& errors) {
    const auto& allowed = rules.allocation_types;
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), a.allocation_type) == allowed.end()) {
        errors.push_back({"allocation_type", "must be one of: " + listed(allowed)});
    }
    if (const duration_rule* d = duration_of(rules, a.allocation_type)) {
        const bool open = a.from_us == open_start || a.to_us == open_end;
        // Both ends closed and from < to: the difference fits (it is below
        // 2^63 for every pair of timestamps the parser yields).
        const std::int64_t length = open ? open_end : a.to_us - a.from_us;
        if (d->min_us && length < *d->min_us) {
            errors.push_back({"to_datetime", "a " + a.allocation_type + " lasts at least " +
                                                 describe_span(*d->min_us)});
        }
        if (d->max_us && length > *d->max_us) {
            errors.push_back(
                {"to_datetime",
                 open ? "a " + a.allocation_type + " cannot be open-ended (at most " +
                            describe_span(*d->max_us) + ")"
                      : "a " + a.allocation_type + " lasts at most " + describe_span(*d->max_us)});
        }
    }
    if (rules.min_notice_us > 0 && start == start_change::new_start) {
        const bool late = a.from_us == open_start || a.from_us < now_us ||
                          a.from_us - now_us < rules.min_notice_us;
        if (late) {
            errors.push_back({"from_datetime", "must be at least " +
                                                   describe_span(rules.min_notice_us) +
                                                   " from now (minimum notice)"});
        }
    }
}

void apply_buffers(const allocation_rules& rules, allocation& a) {
    a.buffer_before_us = rules.buffer_before_us;
    a.buffer_after_us = rules.buffer_after_us;
}

interval blocked_window(const allocation_rules& rules, interval window) {
    allocation probe;
    probe.from_us = window.from;
    probe.to_us = window.to;
    apply_buffers(rules, probe);
    return {blocked_from(probe), blocked_to(probe)};
}

}  // namespace invsys
