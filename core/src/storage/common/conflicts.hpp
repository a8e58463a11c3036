// The errors a store's rules throw, worded once for both backends:
// conflicts naming the ids in the way (at most max_conflict_ids of them;
// the detail gives the full count) and the not-found cases.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "error/error.hpp"
#include "model.hpp"

namespace invsys {

// Conflict bodies list at most this many ids; the detail gives the count.
inline constexpr std::size_t max_conflict_ids = 100;

// The ids a capped query found, and how many there are in all.
struct capped_ids {
    std::vector<std::string> ids;
    long long total = 0;
};

// "a <type> named '<name>' exists already"; `holder` is the resource that
// has the name (none when it is gone by now).
error taken_name_conflict(const resource& r, std::vector<std::string> holder);

// "allocation overlaps N existing allocation(s)".
error overlap_conflict(capped_ids in_the_way);

// "resource has N current or future allocation(s)".
error current_allocations_conflict(capped_ids current);

// "none of the N candidate(s) is free for the interval" (no `conflicts`).
error no_free_candidate(std::size_t candidates);
// not_found naming the candidate that is not a resource of `type`.
error unknown_candidate(std::string_view type, std::string_view id);

error resource_not_found();
error allocation_not_found();

// Storage's own guard (the API layer refuses such input with a field error
// before it gets here): error(invalid) unless a.from_us < a.to_us and its
// buffers are not negative.
void refuse_backwards(const allocation& a);

}  // namespace invsys
