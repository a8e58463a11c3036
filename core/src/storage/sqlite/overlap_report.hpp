// The start-up check of the overlap guard (schema/005_overlap_guard.sql):
// the guard's triggers and the store's one-seek check are right only while
// the stored allocations of a resource never overlap. Rows that overlap
// already (written before version 5 by another writer, or restored from
// elsewhere) are reported at start, not refused: the service goes on
// serving (the rows are still there to be read, moved or deleted through
// the API), and the log names them.
#pragma once

#include <cstdint>
#include <string>

namespace soci {
class session;
}

namespace invsys {

struct stored_overlaps {
    std::int64_t count = 0;  // allocations overlapping an earlier one of their resource
    std::string first_id;    // the first such allocation's id, when count > 0
};

// One pass over allocations_by_start (a window function: each allocation
// against the furthest end of those starting before it).
stored_overlaps find_stored_overlaps(soci::session& sql);

// Logs an error line when find_stored_overlaps finds any.
void report_stored_overlaps(const stored_overlaps& found);

}  // namespace invsys
