// The pool's scoreboard: memory shared between the master and the workers
// of one generation (MAP_SHARED | MAP_ANONYMOUS, mapped by the master
// before it forks them), where each worker says how far it is and what each
// of its threads is doing, so that the master can find a stuck request.
//
// It holds nothing but lock-free atomics: a worker may die at any instant,
// and nothing it leaves half-written can block or mislead the master for
// longer than one look. Entries are indexed by worker entry (one per
// worker process, reused once that process is gone) and thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "worker.hpp"

namespace invsys::fcgi {

enum class worker_phase : std::uint32_t {
    starting = 0,   // forked; constructing the service
    ready = 1,      // serving
    stopping = 2,   // told to stop, finishing its requests
    recycling = 3,  // reached max_requests, finishing its requests
};

// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the pool.
std::uint64_t monotonic_ns() noexcept;

class scoreboard {
  public:
    // A zeroed board for `entries` workers of `threads` threads each. On
    // failure logs one line (`mmap failed: …`) and returns a board for
    // which valid() is false.
    static scoreboard create(unsigned entries, unsigned threads);

    scoreboard() = default;
    scoreboard(scoreboard&& other) noexcept;
    scoreboard& operator=(scoreboard&& other) noexcept;
    scoreboard(const scoreboard&) = delete;
    scoreboard& operator=(const scoreboard&) = delete;
    ~scoreboard();  // unmaps (in this process only)

    bool valid() const noexcept { return base_ != nullptr; }
    unsigned entries() const noexcept { return entries_; }
    unsigned threads() const noexcept { return threads_; }

    // Master side. reset() zeroes an entry before a new worker takes it;
    // its previous worker must be gone.
    void reset(unsigned entry) noexcept;
    worker_phase phase(unsigned entry) const noexcept;
    // Requests served: finished so far, or, once the worker is stopping or
    // recycling, as many as the worker itself counted when the stop began.
    std::uint64_t requests(unsigned entry) const noexcept;

    struct running_request {
        unsigned thread = 0;
        std::uint64_t age_ns = 0;
        std::string label;  // "METHOD URI", at most label_bytes bytes
    };
    // The request of `entry` that has run longest, if any runs now.
    std::optional<running_request> oldest_request(unsigned entry,
                                                  std::uint64_t now_ns) const noexcept;

    // Worker side: an observer that keeps `entry` up to date and, when the
    // phase changes, writes one byte to `notify_fd` (non-blocking; the
    // master's wake-up pipe). The board must outlive it.
    class reporter final : public worker_observer {
      public:
        reporter(scoreboard& board, unsigned entry, int notify_fd) noexcept
            : board_(board), entry_(entry), notify_fd_(notify_fd) {}
        void ready() noexcept override;
        void request_started(unsigned thread, std::string_view method,
                             std::string_view uri) noexcept override;
        void request_finished(unsigned thread) noexcept override;
        void stopping(bool recycling, unsigned long served) noexcept override;

      private:
        void set_phase(worker_phase phase) noexcept;
        scoreboard& board_;
        const unsigned entry_;
        const int notify_fd_;
    };

    static constexpr std::size_t label_bytes = 120;

  private:
    struct worker_entry;
    struct thread_entry;
    worker_entry& worker(unsigned entry) const noexcept;
    thread_entry& thread(unsigned entry, unsigned thread) const noexcept;

    void* base_ = nullptr;
    std::size_t size_ = 0;
    unsigned entries_ = 0;
    unsigned threads_ = 0;
};

}  // namespace invsys::fcgi
