// The rules a write transaction checks before it writes. They run on the
// transaction's own connection, after BEGIN IMMEDIATE and under the write
// lock, so no other writer can come between a check and its write. Each
// throws error(conflict) with `conflicts` = the ids in the way (at most
// 100; the detail gives the full count).
#pragma once

#include <cstdint>
#include <string_view>

#include "model.hpp"

namespace invsys {

class sqlite_connection;

// "a <type> named '<name>' exists already" when another resource of the
// type (not r.id itself) has the name.
void refuse_taken_name(sqlite_connection& c, const resource& r);

// "allocation overlaps N existing allocation(s)" when `a` overlaps another
// allocation of its resource (not a.id itself). One index seek when free.
// error(invalid) unless a.from_us < a.to_us.
void refuse_overlap(sqlite_connection& c, const allocation& a);

// "resource has N current or future allocation(s)": those ending after `now_us`.
void refuse_current_allocations(sqlite_connection& c, std::string_view resource_id,
                                std::int64_t now_us);

}  // namespace invsys
