#include "storage/sqlite/overlap_report.hpp"

#include <soci/soci.h>

#include <invsys/log.hpp>

namespace invsys {
namespace {

// The overlap condition of schema/005_overlap_guard.sql, over every stored
// row: an allocation's blocked range overlaps an earlier-starting one of its
// resource when it starts before the furthest blocked end among them.
constexpr const char* stored_overlaps_sql =
    "SELECT count(*), coalesce(min(id), '') FROM ("
    " SELECT id, blocked_from_us, max(blocked_to_us) OVER ("
    "  PARTITION BY resource_id ORDER BY blocked_from_us, blocked_to_us, seq"
    "  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach"
    " FROM allocations) WHERE reach > blocked_from_us";

}  // namespace

stored_overlaps find_stored_overlaps(soci::session& sql) {
    stored_overlaps found;
    long long count = 0;
    sql << stored_overlaps_sql, soci::into(count), soci::into(found.first_id);
    found.count = count;
    return found;
}

void report_stored_overlaps(const stored_overlaps& found) {
    if (found.count == 0) return;
    std::string line = "storage: ";
    line.append(std::to_string(found.count))
        .append(" stored allocations overlap another of their resource (e.g. ")
        .append(found.first_id)
        .append(
            "); the overlap checks cannot vouch for those resources until they are moved or "
            "deleted");
    log_error(line);
}

}  // namespace invsys
