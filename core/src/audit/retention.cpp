#include "audit/retention.hpp"

#include <atomic>
#include <invsys/log.hpp>

#include "audit/audit.hpp"

namespace invsys {
namespace {

// When this process may prune next (microseconds since the epoch): one
// thread wins each interval, the others skip at the cost of one load.
std::atomic<std::int64_t> next_prune_us{0};

constexpr std::int64_t us_per_day = 86'400'000'000;

}  // namespace

std::size_t prune_audit_when_due(store& db, unsigned retention_days, std::int64_t now_us) noexcept {
    if (retention_days == 0) return 0;
    std::int64_t due = next_prune_us.load(std::memory_order_relaxed);
    if (now_us < due) return 0;
    const std::int64_t next =
        now_us + std::chrono::duration_cast<std::chrono::microseconds>(prune_interval).count();
    if (!next_prune_us.compare_exchange_strong(due, next)) return 0;
    try {
        const std::size_t removed = db.prune_audit(
            now_us - static_cast<std::int64_t>(retention_days) * us_per_day, audit_prune_batch);
        // A full batch: more are due; go on at the next write rather than
        // waiting a whole interval.
        if (removed == audit_prune_batch) next_prune_us.store(0, std::memory_order_relaxed);
        return removed;
    } catch (const std::exception& e) {
        log_warn(std::string("audit: pruning entries past the retention failed: ") + e.what());
    } catch (...) {
        log_warn("audit: pruning entries past the retention failed");
    }
    return 0;
}

}  // namespace invsys
