#include "storage/common/conflicts.hpp"

#include <utility>

namespace invsys {
namespace {

std::string plural(long long n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

error conflict(std::string detail, std::vector<std::string> ids) {
    error failure(error_code::conflict, std::move(detail));
    failure.conflicts = std::move(ids);
    return failure;
}

}  // namespace

error taken_name_conflict(const resource& r, std::vector<std::string> holder) {
    return conflict("a " + r.resource_type + " named '" + r.name + "' exists already",
                    std::move(holder));
}

error overlap_conflict(capped_ids in_the_way) {
    return conflict("allocation overlaps " + plural(in_the_way.total, "existing allocation"),
                    std::move(in_the_way.ids));
}

error current_allocations_conflict(capped_ids current) {
    return conflict("resource has " + plural(current.total, "current or future allocation"),
                    std::move(current.ids));
}

error no_free_candidate(std::size_t candidates) {
    if (candidates == 0) return conflict("no resource of this type is free for the interval", {});
    return conflict("none of the " + plural(static_cast<long long>(candidates), "candidate") +
                        " is free for the interval",
                    {});
}

error unknown_candidate(std::string_view type, std::string_view id) {
    std::string detail = "candidates: no ";
    detail.append(type).append(" with id ").append(id);
    return error(error_code::not_found, std::move(detail));
}

error resource_not_found() { return error(error_code::not_found, "resource not found"); }

error allocation_not_found() { return error(error_code::not_found, "allocation not found"); }

void refuse_backwards(const allocation& a) {
    if (!(a.from_us < a.to_us)) {
        throw error(error_code::invalid, "an allocation must end after it starts");
    }
    if (a.buffer_before_us < 0 || a.buffer_after_us < 0) {
        throw error(error_code::invalid, "an allocation's buffers must not be negative");
    }
}

}  // namespace invsys
