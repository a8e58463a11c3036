// The booking rules for names and allocations (docs/api.md): plain
// functions over decoded input, without HTTP, tested on their own.
#pragma once

#include <string>
#include <vector>

#include "error/error.hpp"
#include "json/codec.hpp"
#include "model.hpp"
#include "plugins/registry.hpp"

namespace invsys {

inline constexpr std::size_t max_name_code_points = 64;
inline constexpr std::size_t max_allocation_type_code_points = 32;
inline constexpr std::size_t max_description_code_points = 1000;

// Appends to `errors` what is wrong with a resource name.
void check_name(const std::string& name, std::vector<field_error>& errors);

// Applies `input` to `target` (a new allocation with open ends and no type,
// or the stored one for PATCH): each end given in either form replaces that
// end; omitted fields keep their values. allocation_change::create makes
// the start, end and allocation_type required. Then checks from < to, the field limits, the
// type's declarative rules (booking/type_rules.hpp) and its plugin's own
// check, and sets the type's buffers. Throws error(invalid) listing every
// violation.
enum class allocation_change { create, update };
void apply_allocation_input(const allocation_input& input, allocation_change change,
                            const loaded_type& type, allocation& target);

// Throws error(invalid) with `errors`, detail naming the first field.
[[noreturn]] void throw_invalid(std::vector<field_error> errors);

}  // namespace invsys
