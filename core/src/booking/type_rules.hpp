// A type's declarative allocation rules (invsys/resource_type.hpp,
// allocation_rules): the configuration's overrides merged into what the
// plugin declared, and the checks a new or changed allocation must pass.
#pragma once

#include <cstdint>
#include <invsys/config.hpp>
#include <invsys/resource_type.hpp>
#include <string>
#include <vector>

#include "error/error.hpp"
#include "interval/interval.hpp"
#include "model.hpp"

namespace invsys {

// `declared` with every rule that `overrides` gives replaced.
allocation_rules merge_rules(allocation_rules declared, const type_rule_overrides& overrides);

// Whether `a.from_us` was set by this request: only then is the minimum
// notice checked (a PATCH of the description of an allocation that starts
// soon is not late).
enum class start_change { new_start, same_start };

// Appends to `errors` each rule `a` breaks (allowed allocation types,
// duration bounds of its allocation type, minimum notice counted from
// `now_us`).
void check_type_rules(const allocation_rules& rules, const allocation& a, start_change start,
                      std::int64_t now_us, std::vector<field_error>& errors);

// Sets a's buffers from the rules: a stored allocation takes the buffers
// in force when it was last written.
void apply_buffers(const allocation_rules& rules, allocation& a);

// Widens `window` by the buffers that a booking of exactly that window
// would get (saturating at the open ends): the blocked range it would need.
interval blocked_window(const allocation_rules& rules, interval window);

// "90 min", "2 h", "1 d 6 h", "250 ms": a span in words for messages.
std::string describe_span(std::int64_t us);

}  // namespace invsys
