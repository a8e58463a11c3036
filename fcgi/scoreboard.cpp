#include "scoreboard.hpp"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <invsys/log.hpp>
#include <new>
#include <utility>

#include "sys_error.hpp"

namespace invsys::fcgi {

// Shared between processes, so every atomic here must be lock-free (an
// address-free lock-free atomic works across processes; a lock would not
// survive its holder's death).
struct scoreboard::worker_entry {
    std::atomic<std::uint32_t> phase;
    std::atomic<std::uint64_t> requests;        // finished so far
    std::atomic<std::uint64_t> served_at_stop;  // the worker's own count when its stop began
};

// The label is written before started_ns is published and read between two
// loads of started_ns (a seqlock whose sequence is the start time): a label
// read while the thread moved on to another request is thrown away.
struct scoreboard::thread_entry {
    std::atomic<std::uint64_t> started_ns;  // 0: idle
    std::atomic<std::uint64_t> label[label_bytes / 8];
};

static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(scoreboard::label_bytes % 8 == 0);

std::uint64_t monotonic_ns() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(now.tv_nsec);
}

scoreboard scoreboard::create(unsigned entries, unsigned threads) {
    scoreboard board;
    const std::size_t size =
        entries * sizeof(worker_entry) + std::size_t{entries} * threads * sizeof(thread_entry);
    void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        log_error("mmap failed for the scoreboard (" + std::to_string(size) +
                  " bytes): " + errno_text(errno));
        return board;
    }
    // The mapping is zeroed; constructing the atomics over it keeps them zero.
    auto* workers = static_cast<worker_entry*>(base);
    for (unsigned i = 0; i < entries; ++i) new (&workers[i]) worker_entry{};
    auto* thread_entries = reinterpret_cast<thread_entry*>(workers + entries);
    for (std::size_t i = 0; i < std::size_t{entries} * threads; ++i)
        new (&thread_entries[i]) thread_entry{};
    board.base_ = base;
    board.size_ = size;
    board.entries_ = entries;
    board.threads_ = threads;
    return board;
}

scoreboard::scoreboard(scoreboard&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      entries_(std::exchange(other.entries_, 0)),
      threads_(std::exchange(other.threads_, 0)) {}

scoreboard& scoreboard::operator=(scoreboard&& other) noexcept {
    if (this != &other) {
        if (base_ != nullptr) ::munmap(base_, size_);
        base_ = std::exchange(other.base_, nullptr);
        size_ = std::exchange(other.size_, 0);
        entries_ = std::exchange(other.entries_, 0);
        threads_ = std::exchange(other.threads_, 0);
    }
    return *this;
}

scoreboard::~scoreboard() {
    if (base_ != nullptr) ::munmap(base_, size_);
}

scoreboard::worker_entry& scoreboard::worker(unsigned entry) const noexcept {
    return static_cast<worker_entry*>(base_)[entry];
}

scoreboard::thread_entry& scoreboard::thread(unsigned entry, unsigned thread) const noexcept {
    auto* first = reinterpret_cast<thread_entry*>(static_cast<worker_entry*>(base_) + entries_);
    return first[std::size_t{entry} * threads_ + thread];
}

void scoreboard::reset(unsigned entry) noexcept {
    if (!valid() || entry >= entries_) return;
    worker(entry).phase.store(0);
    worker(entry).requests.store(0);
    worker(entry).served_at_stop.store(0);
    for (unsigned t = 0; t < threads_; ++t) {
        thread(entry, t).started_ns.store(0);
        for (auto& word : thread(entry, t).label) word.store(0, std::memory_order_relaxed);
    }
}

worker_phase scoreboard::phase(unsigned entry) const noexcept {
    if (!valid() || entry >= entries_) return worker_phase::starting;
    return static_cast<worker_phase>(worker(entry).phase.load(std::memory_order_acquire));
}

std::uint64_t scoreboard::requests(unsigned entry) const noexcept {
    if (!valid() || entry >= entries_) return 0;
    if (phase(entry) >= worker_phase::stopping)
        return worker(entry).served_at_stop.load(std::memory_order_relaxed);
    return worker(entry).requests.load(std::memory_order_relaxed);
}

std::optional<scoreboard::running_request> scoreboard::oldest_request(
    unsigned entry, std::uint64_t now_ns) const noexcept {
    if (!valid() || entry >= entries_) return std::nullopt;
    std::optional<running_request> oldest;
    for (unsigned t = 0; t < threads_; ++t) {
        const thread_entry& slot = thread(entry, t);
        const std::uint64_t started = slot.started_ns.load(std::memory_order_acquire);
        if (started == 0 || started > now_ns) continue;
        if (oldest && now_ns - started <= oldest->age_ns) continue;
        char text[label_bytes + 1] = {};
        for (std::size_t w = 0; w < label_bytes / 8; ++w) {
            const std::uint64_t word = slot.label[w].load(std::memory_order_relaxed);
            std::memcpy(text + w * 8, &word, 8);
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot.started_ns.load(std::memory_order_relaxed) != started) continue;  // moved on
        try {
            oldest = running_request{t, now_ns - started, std::string(text)};
        } catch (...) {
            return oldest;
        }
    }
    return oldest;
}

void scoreboard::reporter::set_phase(worker_phase phase) noexcept {
    if (!board_.valid() || entry_ >= board_.entries_) return;
    board_.worker(entry_).phase.store(static_cast<std::uint32_t>(phase), std::memory_order_release);
    if (notify_fd_ >= 0) {
        const char byte = 'p';
        [[maybe_unused]] const ssize_t n = ::write(notify_fd_, &byte, 1);
    }
}

void scoreboard::reporter::ready() noexcept { set_phase(worker_phase::ready); }

void scoreboard::reporter::stopping(bool recycling, unsigned long served) noexcept {
    // Before the phase, which publishes it.
    if (board_.valid() && entry_ < board_.entries_)
        board_.worker(entry_).served_at_stop.store(served, std::memory_order_relaxed);
    set_phase(recycling ? worker_phase::recycling : worker_phase::stopping);
}

void scoreboard::reporter::request_started(unsigned t, std::string_view method,
                                           std::string_view uri) noexcept {
    if (!board_.valid() || entry_ >= board_.entries_ || t >= board_.threads_) return;
    thread_entry& slot = board_.thread(entry_, t);
    char text[label_bytes] = {};
    std::size_t used = 0;
    for (const std::string_view part : {method, std::string_view(" "), uri}) {
        const std::size_t n = std::min(part.size(), label_bytes - 1 - used);
        std::memcpy(text + used, part.data(), n);
        used += n;
    }
    // started_ns is 0 since the last request_finished: the label stores
    // below must not be seen before it (the seqlock's "write begins").
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t w = 0; w < label_bytes / 8; ++w) {
        std::uint64_t word;
        std::memcpy(&word, text + w * 8, 8);
        slot.label[w].store(word, std::memory_order_relaxed);
    }
    // Never 0, which means idle.
    slot.started_ns.store(std::max<std::uint64_t>(monotonic_ns(), 1), std::memory_order_release);
}

void scoreboard::reporter::request_finished(unsigned t) noexcept {
    if (!board_.valid() || entry_ >= board_.entries_ || t >= board_.threads_) return;
    board_.thread(entry_, t).started_ns.store(0, std::memory_order_release);
    board_.worker(entry_).requests.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace invsys::fcgi
