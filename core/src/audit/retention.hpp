// Audit retention: entries older than `audit.retention_days` are deleted in
// bounded batches (audit_prune_batch), at most once per prune_interval per
// process, after a write request has been answered — so no write waits
// for more than one small batch, and most writes for none.
#pragma once

#include <chrono>
#include <cstdint>

#include "storage/store.hpp"

namespace invsys {

inline constexpr std::chrono::seconds prune_interval{60};

// Prunes one batch when retention_days > 0 and this process has not
// pruned for prune_interval (or ever). Never throws: a failure is logged,
// and the next interval tries again. Returns the entries deleted.
std::size_t prune_audit_when_due(store& db, unsigned retention_days, std::int64_t now_us) noexcept;

}  // namespace invsys
