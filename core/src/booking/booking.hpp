// The booking layer: what the API does, as plain functions over the store
// and a resource type, knowing nothing of HTTP or JSON text. Handlers
// (api/) decode a request, call one of these and encode the result; another
// front end (an admin tool, a second transport) calls the same functions
// and gets the same rules.
//
// Every function throws invsys::error: invalid (listing the fields),
// not_found (no such resource of this type, or no such allocation on it),
// conflict (with `conflicts`), unavailable (the database).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "booking/inputs.hpp"
#include "interval/interval.hpp"
#include "model.hpp"
#include "plugins/registry.hpp"
#include "storage/store.hpp"

namespace invsys {

// One page of a listing: the rows, and whether more follow the last one.
template <typename Row>
struct page_of {
    std::vector<Row> rows;
    bool more = false;
};

// --- resources

resource require_resource(store& db, const loaded_type& type, std::string_view id);
page_of<resource> list_resources(store& db, const loaded_type& type,
                                 const std::optional<std::string>& after, std::size_t limit);
// `name` is required; attributes are checked against the type's specs.
resource create_resource(store& db, const loaded_type& type, const resource_input& input);
// A partial update: a given name or attributes object replaces the stored
// one, merged in the write transaction. `expected` is the If-Match
// condition (precondition_failed when it does not hold).
resource update_resource(store& db, const loaded_type& type, std::string_view id,
                         const resource_input& input, const version_condition& expected = {});

// keep_allocations refuses (conflict) while allocations end after now;
// with_allocations deletes them too (a decommissioned vehicle).
enum class resource_deletion { keep_allocations, with_allocations };
void delete_resource(store& db, const loaded_type& type, std::string_view id,
                     resource_deletion mode, const version_condition& expected = {});

// --- allocations of one resource

allocation require_allocation(store& db, const loaded_type& type, std::string_view resource_id,
                              std::string_view allocation_id);
page_of<allocation> list_allocations(store& db, const loaded_type& type,
                                     std::string_view resource_id, const allocation_filter& filter,
                                     const std::optional<std::string>& after, std::size_t limit);
// Books the resource for the input's interval: the rules, then an insert
// that the store refuses on overlap.
allocation book(store& db, const loaded_type& type, std::string_view resource_id,
                const allocation_input& input);
// Applies a partial change to a stored allocation, under the same rules,
// merged in the write transaction; `expected` as for update_resource.
allocation reschedule(store& db, const loaded_type& type, std::string_view resource_id,
                      std::string_view allocation_id, const allocation_input& input,
                      const version_condition& expected = {});
void cancel(store& db, const loaded_type& type, std::string_view resource_id,
            std::string_view allocation_id, const version_condition& expected = {});

// --- availability (docs/api.md, "Availability")

// The resources of the type that a booking of exactly `window` would fit:
// nothing blocked in `window` widened by the type's buffers. Oldest first.
page_of<resource> list_available(store& db, const loaded_type& type, interval window,
                                 const std::optional<std::string>& after, std::size_t limit);

// The free gaps of one resource inside `window`: the times no blocked range
// covers, clipped to the window, ordered, none of them empty; the whole
// window when nothing is blocked in it. At most `limit`; when more follow,
// `more` and `next_from`, where the next page's window starts.
struct free_gaps_page {
    std::vector<interval> gaps;
    bool more = false;
    std::int64_t next_from = 0;
};
free_gaps_page free_gaps(store& db, const loaded_type& type, std::string_view resource_id,
                         interval window, std::size_t limit);

// "Book any free one": the input's allocation on the first of `candidates`
// (resource ids of this type; empty: every resource of the type, oldest
// first) free for its whole blocked range, atomically. not_found when a
// candidate is unknown; conflict when none is free.
allocation book_any(store& db, const loaded_type& type, const allocation_input& input,
                    const std::vector<std::string>& candidates);

}  // namespace invsys
