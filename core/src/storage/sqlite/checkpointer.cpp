#include "storage/sqlite/checkpointer.hpp"

#include <chrono>
#include <exception>
#include <invsys/log.hpp>
#include <utility>

namespace invsys {
namespace {

// The thread's connection reads no table: a checkpoint copies frames from
// the WAL file to the database file without the page cache.
constexpr unsigned checkpointer_cache_kib = 64;

long steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

wal_checkpointer::wal_checkpointer(std::string path, write_lock& lock, unsigned busy_timeout_ms,
                                   unsigned threshold_frames)
    : path_(std::move(path)),
      lock_(lock),
      busy_timeout_ms_(busy_timeout_ms),
      threshold_frames_(static_cast<int>(threshold_frames == 0 ? 1 : threshold_frames)),
      thread_([this] { run(); }) {}

wal_checkpointer::~wal_checkpointer() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void wal_checkpointer::committed(int wal_frames) noexcept {
    if (wal_frames < threshold_frames_ ||
        wal_frames <= settled_frames_.load(std::memory_order_relaxed)) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (due_) return;
        due_ = true;
    }
    wake_.notify_one();
}

unsigned long wal_checkpointer::passes() const noexcept {
    std::lock_guard lock(mutex_);
    return passes_;
}

void wal_checkpointer::run() noexcept {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return due_ || stopping_; });
        if (stopping_) return;
        due_ = false;
        lock.unlock();
        try {
            checkpoint();
        } catch (const std::exception& e) {
            // The WAL keeps its frames: the next commit past the threshold
            // asks again. One line per minute at most (a full disk).
            const long now = steady_seconds();
            lock.lock();
            const bool log = last_failure_log_s_ < 0 || now - last_failure_log_s_ >= 60;
            if (log) last_failure_log_s_ = now;
            lock.unlock();
            if (log) log_warn(std::string("WAL checkpoint failed (retried later): ") + e.what());
        }
        lock.lock();
    }
}

void wal_checkpointer::checkpoint() {
    if (!connection_) {
        connection_ =
            std::make_unique<sqlite_connection>(path_, busy_timeout_ms_, checkpointer_cache_kib);
    }
    const wal_progress bulk = connection_->checkpoint_passive();
    if (bulk.busy || bulk.wal_frames <= 0) return;  // another checkpoint runs, or nothing to do
    // Even when the bulk pass copied everything, the writer in its
    // transaction meanwhile began on a WAL not yet copied whole, so it
    // appends rather than starting the WAL over, and so would every writer
    // after it. Between two writers, with nothing left to copy, the next
    // one starts over: copy the frames committed since while holding the
    // write lock.
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
    if (!lock_.try_lock_until(until)) return;  // busy writers: at the next threshold
    struct unlock_at_exit {
        write_lock& l;
        ~unlock_at_exit() { l.unlock(); }
    } unlock{lock_};
    const wal_progress rest = connection_->checkpoint_passive();
    // Copied whole: the next writer starts the WAL over, and until then
    // the commits that find it this long have nothing to ask for.
    settled_frames_.store(
        rest.checkpointed_frames == rest.wal_frames && !rest.busy ? rest.wal_frames : 0,
        std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    ++passes_;
}

}  // namespace invsys
