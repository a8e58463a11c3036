// The service's counters for GET /metrics (Prometheus text format).
//
// They live in one block of memory that every process of a pool shares:
// the pool's master maps it (MAP_SHARED, before it forks any worker) and
// calls place_shared_metrics(); the workers inherit it, count into it with
// lock-free atomics, and whichever worker answers GET /metrics reads the
// sums of all of them. Without a shared block (tests, invsys-admin) a
// process counts into a block of its own. Every function here is
// thread-safe, noexcept and cheap (a few relaxed atomic adds).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace invsys::metrics {

// Bytes of the block; place_shared_metrics needs that much, zeroed.
std::size_t shared_block_size() noexcept;
// Makes `memory` (shared_block_size() zeroed bytes, suitably aligned: a
// fresh mmap) this process's block, and the block of every process forked
// afterwards.
void place_shared_metrics(void* memory) noexcept;

// One request answered: the index of its route-table row (nullptr row:
// no route matched), its status and how long the service took.
void count_request(std::size_t route_row, bool matched, int status,
                   std::uint64_t duration_us) noexcept;
// A request is being handled (busy threads), by this process.
void request_began() noexcept;
void request_ended() noexcept;

// A 409 for an overlap or a name taken.
void count_conflict() noexcept;
// An Idempotency-Key retry answered from the stored first response.
void count_idempotent_replay() noexcept;
// One wait for the SQLite write lock, however short.
void add_write_lock_wait(std::uint64_t wait_ns) noexcept;
// A SQLite commit group ended: committed (`writes` writes made durable by
// one COMMIT), or not (each of its writes failed).
void count_commit_group(std::size_t writes, bool committed) noexcept;
// A database failure (busy, unreachable, or an unexpected error).
void count_database_error() noexcept;

// The pool master's view.
void set_pool_workers(unsigned ready_workers) noexcept;
void count_worker_restart() noexcept;
void count_worker_recycle() noexcept;
// A worker is gone (reaped): its busy threads no longer count.
void forget_worker(pid_t pid) noexcept;

// The Prometheus text exposition (version 0.0.4) of every counter.
std::string render_prometheus();

}  // namespace invsys::metrics
