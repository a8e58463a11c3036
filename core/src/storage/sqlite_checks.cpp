#include "storage/sqlite_checks.hpp"

#include <string>
#include <utility>
#include <vector>

#include "error/error.hpp"
#include "storage/sqlite_connection.hpp"

namespace invsys {
namespace {

namespace q = sqlite_queries;

// Conflict bodies list at most this many ids; the detail gives the count.
constexpr std::size_t max_conflict_ids = 100;

std::string plural(long long n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

error conflict(std::string detail, std::vector<std::string> ids) {
    error failure(error_code::conflict, std::move(detail));
    failure.conflicts = std::move(ids);
    return failure;
}

}  // namespace

void refuse_taken_name(sqlite_connection& c, const resource& r) {
    auto& h = c.query<q::name_holder>();
    h.type = r.resource_type;
    h.name = r.name;
    h.self = r.id;
    h.st.execute(true);
    if (!h.st.got_data()) return;
    throw conflict("a " + r.resource_type + " named '" + r.name + "' exists already", {h.id});
}

void refuse_overlap(sqlite_connection& c, const allocation& a) {
    // Storage's own guard: a.to_us - 1 below must not overflow. The API
    // layer refuses such input with a field error before it gets here.
    if (!(a.from_us < a.to_us)) {
        throw error(error_code::invalid, "an allocation must end after it starts");
    }
    // The only candidate is the first allocation ending after a.from_us
    // (see sqlite_sql::first_ending_after): one index seek.
    auto& seek = c.query<q::first_ending_after>();
    seek.resource_id = a.resource_id;
    seek.self = a.id;
    seek.after = a.from_us;
    seek.st.execute(true);
    if (!seek.st.got_data() || seek.from_us >= a.to_us) return;

    // A conflict: now, and only now, gather the ids in the way. Those
    // ending inside (from, to) all overlap; of the rest, only the first
    // ending at or after `to` can.
    std::vector<std::string> ids;
    auto& inside = c.query<q::ending_inside>();
    inside.resource_id = a.resource_id;
    inside.self = a.id;
    inside.from = a.from_us;
    inside.to = a.to_us;
    inside.limit = q::sql_limit(max_conflict_ids);
    inside.st.execute();
    while (inside.st.fetch()) ids.push_back(inside.id);
    long long total = static_cast<long long>(ids.size());
    if (ids.size() == max_conflict_ids) {
        auto& count = c.query<q::count_ending_inside>();
        count.resource_id = a.resource_id;
        count.self = a.id;
        count.from = a.from_us;
        count.to = a.to_us;
        count.st.execute(true);
        total = count.count;
    }
    seek.after = a.to_us - 1;
    seek.st.execute(true);
    if (seek.st.got_data() && seek.from_us < a.to_us) {
        ++total;
        if (ids.size() < max_conflict_ids) ids.push_back(seek.id);
    }
    throw conflict("allocation overlaps " + plural(total, "existing allocation"), std::move(ids));
}

void refuse_current_allocations(sqlite_connection& c, std::string_view resource_id,
                                std::int64_t now_us) {
    std::vector<std::string> ids;
    auto& current = c.query<q::ending_after>();
    current.resource_id = resource_id;
    current.now = now_us;
    current.limit = q::sql_limit(max_conflict_ids);
    current.st.execute();
    while (current.st.fetch()) ids.push_back(current.id);
    if (ids.empty()) return;
    long long total = static_cast<long long>(ids.size());
    if (ids.size() == max_conflict_ids) {
        auto& count = c.query<q::count_ending_after>();
        count.resource_id = resource_id;
        count.now = now_us;
        count.st.execute(true);
        total = count.count;
    }
    throw conflict("resource has " + plural(total, "current or future allocation"), std::move(ids));
}

}  // namespace invsys
