// Keyset paging, the same on both backends: resources by seq, allocations
// by (from_us, to_us, seq), never by offset; an `after` cursor must name an
// entity of the listing, else error(invalid) on field "after".
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <tuple>

#include "error/error.hpp"
#include "model.hpp"

namespace invsys {

// A LIMIT for a signed 64-bit SQL integer.
inline long long sql_limit(std::size_t limit) {
    return static_cast<long long>(std::min<std::size_t>(limit, LLONG_MAX));
}

// A position in the listing order of allocations: from_us, to_us, seq.
using allocation_key = std::tuple<long long, long long, long long>;

// Below every row's key: from_us >= open_start and to_us > from_us.
inline constexpr allocation_key before_first_allocation{open_start, open_start, 0};

// seq > 0 for every row, so 0 starts at the beginning.
inline constexpr long long before_first_resource = 0;

inline error unknown_resource_cursor() { return invalid_field("after", "unknown id"); }
inline error unknown_allocation_cursor() { return invalid_field("after", "unknown allocation id"); }

}  // namespace invsys
