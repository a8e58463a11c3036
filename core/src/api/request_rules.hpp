// The API's rules for names and allocations (API.md), separate from the
// handlers so they can be tested on their own.
#pragma once

#include "error/error.hpp"
#include "json/codec.hpp"
#include "model.hpp"
#include "plugins/registry.hpp"

#include <string>
#include <vector>

namespace invsys {

inline constexpr std::size_t max_name_code_points = 64;
inline constexpr std::size_t max_allocation_type_code_points = 32;
inline constexpr std::size_t max_description_code_points = 1000;

// Appends to `errors` what is wrong with a resource name.
void check_name(const std::string& name, std::vector<field_error>& errors);

// Applies `input` to `target` (a new allocation with open ends and no type,
// or the stored one for PATCH): each end given in either form replaces that
// end; omitted fields keep their values. `is_new` makes the start, end and
// allocation_type required. Then checks from < to, the field limits and the
// type's own rules. Throws error(invalid) listing every violation.
void apply_allocation_input(const allocation_input& input, bool is_new, const loaded_type& type,
                            allocation& target);

// Throws error(invalid) with `errors`, detail naming the first field.
[[noreturn]] void throw_invalid(std::vector<field_error> errors);

}  // namespace invsys
