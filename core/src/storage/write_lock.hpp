// Serialises the writers of one database file: the threads of this process
// through a mutex, other processes through flock(2) on a sidecar file
// `<database path>.lock`. Held around every write transaction, before
// BEGIN IMMEDIATE, so a waiting writer takes over as soon as the holder is
// done instead of sleeping in SQLite's busy handler.
//
// A write_lock must not be used across fork(): flock locks belong to the
// open file description, which a child shares with its parent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

namespace invsys {

class write_lock {
  public:
    using deadline = std::chrono::steady_clock::time_point;

    // Opens (creating when missing) `lock_path`; throws std::runtime_error
    // naming the path when it cannot.
    explicit write_lock(const std::string& lock_path);
    ~write_lock();
    write_lock(const write_lock&) = delete;
    write_lock& operator=(const write_lock&) = delete;

    // Takes both locks. Returns false, holding neither, when they could not
    // be had by `until`. Throws std::runtime_error when flock fails for
    // another reason than contention.
    bool try_lock_until(deadline until);
    void unlock() noexcept;

  private:
    bool try_flock_until(deadline until);
    void release_in_process() noexcept;

    std::string path_;
    int fd_ = -1;
    // The in-process lock: a flag under a mutex rather than a timed_mutex,
    // whose timed wait (pthread_mutex_clocklock) ThreadSanitizer in GCC 12
    // does not see, reporting every unlock as an error.
    std::mutex mutex_;
    std::condition_variable released_;
    bool held_ = false;
};

}  // namespace invsys
