// Serialises the writers of one database file, the threads of this process
// and those of other processes alike, through one process-shared, robust
// pthread mutex that lives in a small sidecar file `<database path>.lock`,
// mapped MAP_SHARED by every process that opens the database. Held around
// every write transaction, before BEGIN IMMEDIATE, so that writers queue on
// the mutex's futex and the kernel wakes the next one the moment the holder
// unlocks, instead of each sleeping in SQLite's busy handler (or in a
// polling loop) while nobody holds the lock.
//
// A holder that dies with the lock (a worker killed by SIGKILL) does not
// wedge the others: the kernel marks the robust mutex, the next locker
// takes it over, and SQLite rolls back the dead writer's unfinished
// transaction on its own (see write_lock.cpp).
//
// fork(): the mapping a child inherits still names the same mutex, which is
// fine for a robust process-shared mutex; but a thread must not fork while
// it holds the lock (the lock stays the parent's), and a store — SQLite
// connections above all — must still be opened in the process that uses it,
// after fork().
//
// Every process writing one database must run this version of the lock: an
// older invsys serialised through flock(2) on the same file and would not
// see this mutex. Removing the lock file while processes use the database
// splits them into two groups that no longer wait for each other (SQLite's
// own locking still keeps the data safe; writers would then meet through
// its busy handler, slowly).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace invsys {

class write_lock {
  public:
    using deadline = std::chrono::steady_clock::time_point;

    // Opens (creating when missing) `lock_path`, `<database path>.lock`,
    // maps it and, if no process has done so yet, initialises the mutex in
    // it. A new file gets the database file's permission bits (and, when
    // run as root, its owner) if the database exists, as SQLite does for
    // its -wal and -shm files; else 0644 before the umask. Throws
    // std::runtime_error naming the path when the file cannot be opened,
    // is not a regular file, cannot be mapped shared (a file system without
    // shared mmap support) or holds something other than this lock.
    explicit write_lock(const std::string& lock_path);
    // Unmaps the file. No thread of this process may hold the lock.
    ~write_lock();
    write_lock(const write_lock&) = delete;
    write_lock& operator=(const write_lock&) = delete;

    // Takes the lock. Returns false, not holding it, when it could not be
    // had by `until` (one attempt when `until` has passed), or when the
    // mutex is unusable (ENOTRECOVERABLE, logged) — the caller answers
    // "busy" either way. Takes over, and returns true, a lock whose holder
    // died holding it (logged). Throws std::logic_error when the calling
    // thread already holds it (the lock is not recursive) and
    // std::runtime_error on other failures of the mutex.
    bool try_lock_until(deadline until);
    // Releases the lock; must be called by the thread that took it.
    void unlock() noexcept;

  private:
    struct shared_state;

    std::string path_;
    shared_state* state_ = nullptr;
    std::size_t mapped_size_ = 0;
    std::atomic<bool> reported_unusable_{false};  // log ENOTRECOVERABLE once
};

}  // namespace invsys
