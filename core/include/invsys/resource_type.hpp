// The interface a resource-type plugin implements.
//
// A plugin describes one resource type: its name, its collection (the URL
// segment under /api), the attributes a resource of that type may carry and,
// optionally, rules for allocations. Core does the generic work (JSON
// parsing, type and range checks from the declared attribute specs, JSON
// Schema output); a plugin only adds what cannot be declared.
//
// Contract for implementers:
// - Every member function is noexcept and must not throw across the plugin
//   boundary; failures are returned as values.
// - Objects are created by the plugin's factory (see plugin_abi.hpp) and are
//   used from many threads at once: member functions must be thread-safe
//   (the built-in plugins are stateless).
// - The host never unloads a plugin library while an object from it lives.
#pragma once

#include <boost/config.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invsys {

// The JSON kinds an attribute may be declared as.
enum class attribute_kind { integer, number, string, boolean };

// One declared attribute. Core validates a given value against it: the kind
// (booleans are never numbers; NaN and infinities are refused), the bounds
// for integer/number, the length in code points for string.
struct attribute_spec {
    std::string name;
    attribute_kind kind = attribute_kind::string;
    std::string description;
    std::optional<double> minimum;            // inclusive lower bound
    std::optional<double> exclusive_minimum;  // strict lower bound
    std::optional<double> maximum;            // inclusive upper bound
    std::optional<double> exclusive_maximum;  // strict upper bound
    std::optional<std::size_t> max_length;    // strings only, in code points
};

// A validated attribute value as handed to a plugin's own checks.
struct attribute_value {
    attribute_kind kind = attribute_kind::string;
    bool boolean = false;
    std::int64_t integer = 0;
    double number = 0;  // also set for integers
    std::string string;
};

using attribute_map = std::map<std::string, attribute_value, std::less<>>;

// An allocation as a plugin sees it when asked to accept it. Times are
// microseconds since the Unix epoch, UTC; an open start is INT64_MIN and an
// open end is INT64_MAX.
struct allocation_view {
    std::string_view allocation_type;
    std::int64_t from_us = 0;
    std::int64_t to_us = 0;
};

// A refusal from a plugin: the field it concerns and a message for humans.
struct rule_violation {
    std::string field;
    std::string message;
};

// Bounds on how long an allocation of one allocation_type may last, in
// microseconds; either may be absent. An open-ended allocation lasts
// forever: it breaks every maximum.
struct duration_rule {
    std::string allocation_type;
    std::optional<std::int64_t> min_us;
    std::optional<std::int64_t> max_us;
};

// Declarative allocation rules of a type: core checks them, shows them in
// GET /api/types, and lets the configuration override each one per type
// (docs/api.md, "Per-type rules"). The default is no rule at all.
struct allocation_rules {
    // The allocation_type values accepted; empty: any.
    std::vector<std::string> allocation_types;
    // At most one entry per allocation_type; types without one are unbounded.
    std::vector<duration_rule> durations;
    // A turnaround buffer kept free before the start and after the end of
    // each allocation (cleaning, handover): part of the blocked range that
    // no other allocation's blocked range may overlap. 0 to 366 days.
    std::int64_t buffer_before_us = 0;
    std::int64_t buffer_after_us = 0;
    // How long before its start an allocation must at least be made (or
    // moved); an open start is always too late once this is set.
    std::int64_t min_notice_us = 0;
};

class BOOST_SYMBOL_VISIBLE resource_type {
  public:
    virtual ~resource_type() = default;

    // The type name, e.g. "Car". Unique among loaded plugins.
    virtual std::string type_name() const noexcept = 0;

    // The collection served under /api/, e.g. "cars". Lower-case ASCII
    // letters, digits, '-' and '_'; unique among loaded plugins.
    virtual std::string collection() const noexcept = 0;

    // The attributes a resource of this type may have; all are optional.
    // Keys not listed here are refused.
    virtual std::vector<attribute_spec> attributes() const noexcept = 0;

    // Checks that involve several attributes at once, after every value has
    // passed its own spec. Returns the violations; empty means accepted.
    virtual std::vector<rule_violation> check_attributes(const attribute_map&) const noexcept {
        return {};
    }

    // Type-specific allocation rules (allowed allocation types, durations).
    // Called for new and changed allocations after the generic rules passed.
    virtual std::vector<rule_violation> check_allocation(const allocation_view&) const noexcept {
        return {};
    }

    // The declarative rules (above); optional: none by default. Called once
    // at load; the configuration may override each rule.
    virtual allocation_rules rules() const noexcept { return {}; }
};

}  // namespace invsys
