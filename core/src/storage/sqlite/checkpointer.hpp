// Checkpoints the SQLite store's WAL on a thread of its own, so that no
// write waits for it.
//
// SQLite's default (wal_autocheckpoint) runs a checkpoint inside the
// COMMIT that takes the WAL past 1000 frames: that COMMIT copies every
// frame into the database file and syncs it twice, under the write lock
// that every writer of every process waits for. Measured under bench case
// (d) it was a third of the system calls of a booking (a pwrite and a
// pread per frame), and the slowest bookings were the groups queued behind
// it. Here the store's connections only tell this object the WAL's length
// after each COMMIT (sqlite3_wal_hook, which replaces the automatic
// checkpoint), and past `threshold_frames` its thread checkpoints:
//
// 1. PASSIVE, outside the write lock: the bulk of the frames, while the
//    writers go on appending (SQLite lets a checkpoint run beside a writer);
// 2. PASSIVE again, holding the write lock: the frames committed
//    meanwhile, a few. With nothing left to copy when the next writer
//    begins, that writer starts the WAL over from its beginning (as after
//    an automatic checkpoint), so the file stays as small as before.
//    Without this step a steady stream of writes never leaves such a moment
//    (the writer in its transaction during the bulk pass began on a WAL not
//    copied whole, and appends), and the WAL would grow for as long as the
//    stream lasts.
//
// Two processes' checkpointers exclude each other (SQLite's checkpoint
// lock: the second one's pass is SQLITE_BUSY and skipped). A checkpoint is
// crash-safe at any instant (SQLite's design): `kill -9` mid-copy leaves
// the frames in the WAL, and the next checkpoint copies them again.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/write_lock.hpp"

namespace invsys {

class wal_checkpointer final : public wal_watcher {
  public:
    // Starts the thread; its connection to `path` opens at its first
    // checkpoint. `lock` must outlive this object.
    wal_checkpointer(std::string path, write_lock& lock, unsigned busy_timeout_ms,
                     unsigned threshold_frames);
    // Stops the thread (a checkpoint under way finishes first).
    ~wal_checkpointer();
    wal_checkpointer(const wal_checkpointer&) = delete;
    wal_checkpointer& operator=(const wal_checkpointer&) = delete;

    // sqlite3_wal_hook, on the committing thread: wakes the thread when the
    // WAL has reached the threshold. Cheap: a compare, and a mutex and a
    // wake-up once per checkpoint.
    void committed(int wal_frames) noexcept override;

    // For tests: checkpoints finished (each pass that copied frames).
    unsigned long passes() const noexcept;

  private:
    void run() noexcept;
    void checkpoint();

    const std::string path_;
    write_lock& lock_;
    const unsigned busy_timeout_ms_;
    const int threshold_frames_;
    std::unique_ptr<sqlite_connection> connection_;  // the thread's own
    // The WAL's length when this thread last copied it whole under the
    // lock: until the next writer starts it over (or a reader's snapshot
    // kept a frame from being copied, and it grows past this), nothing to do.
    std::atomic<int> settled_frames_{0};

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool due_ = false;
    bool stopping_ = false;
    unsigned long passes_ = 0;
    long last_failure_log_s_ = -1;
    std::thread thread_;  // last: started once everything above is set
};

}  // namespace invsys
