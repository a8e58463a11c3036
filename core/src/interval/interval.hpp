// Half-open intervals [from, to) of microseconds; open ends are open_start /
// open_end (model.hpp).
#pragma once

#include <cstdint>

namespace invsys {

struct interval {
    std::int64_t from;
    std::int64_t to;
};

// True when from < to (an interval that holds at least one instant).
constexpr bool is_valid(interval i) noexcept { return i.from < i.to; }

// Two intervals overlap when each starts before the other ends; touching
// (a.to == b.from) is not an overlap.
constexpr bool overlaps(interval a, interval b) noexcept { return a.from < b.to && b.from < a.to; }

}  // namespace invsys
