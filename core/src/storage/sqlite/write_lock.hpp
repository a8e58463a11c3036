// Serialises the writers of one database file, the threads of this process
// and those of other processes alike — other PID namespaces (containers
// sharing a volume on one host) included. Held around every write
// transaction, before BEGIN IMMEDIATE, so that writers queue here and are
// woken the moment the holder unlocks, instead of each sleeping in SQLite's
// busy handler while nobody holds the lock.
//
// How (write_lock.cpp): between processes, an open-file-description lock
// (fcntl F_OFD_SETLK) on the sidecar file `<database path>.lock`; between
// the threads of one process, a mutex of this object's. Neither records a
// thread or process id, so ids that repeat across PID namespaces do not
// matter, and nothing of the lock's state survives its holder: the kernel
// drops an OFD lock when the last descriptor of its holder closes (its
// process exits, however), and no file content says who holds it — so a
// copied, restored or power-cut lock file cannot name a dead holder.
// Waiters sleep on a futex word in the file's shared mapping, which the
// holder bumps and wakes at unlock; a waiter also retries every few
// milliseconds, which covers a holder that died without unlocking.
//
// A holder that dies with the lock (a worker killed by SIGKILL) does not
// wedge the others; SQLite rolls back its unfinished transaction itself.
//
// Every process writing one database must run this version of the lock:
// older versions kept a pthread mutex in the same file and would not see
// this one. Removing the lock file while processes use the database splits
// them into two groups that no longer wait for each other (SQLite's own
// locking still keeps the data safe; writers would then meet through its
// busy handler, slowly). The file must be on a local file system (OFD
// locks and shared mappings; never NFS).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace invsys {

class write_lock {
  public:
    using deadline = std::chrono::steady_clock::time_point;

    // Opens (creating when missing) `lock_path`, `<database path>.lock`,
    // and maps it. A new file gets the database file's permission bits
    // (and, when run as root, its owner) if the database exists, as SQLite
    // does for its -wal and -shm files; else 0644 before the umask. Throws
    // std::runtime_error naming the path when the file cannot be opened,
    // is not a regular file, cannot be mapped shared or holds something
    // other than this lock.
    explicit write_lock(const std::string& lock_path);
    // Closes the file. No thread of this process may hold the lock.
    ~write_lock();
    write_lock(const write_lock&) = delete;
    write_lock& operator=(const write_lock&) = delete;

    // Takes the lock. Returns false, not holding it, when it could not be
    // had by `until` (one attempt when `until` has passed) — the caller
    // answers "busy". Throws std::logic_error when the calling thread
    // already holds it (the lock is not recursive) and std::runtime_error
    // on other failures.
    bool try_lock_until(deadline until);
    // Releases the lock; must be called by the thread that took it.
    void unlock() noexcept;

  private:
    struct shared_state;

    bool try_file_lock();
    void reopen_after_fork();

    std::string path_;
    int fd_ = -1;
    pid_t opened_by_ = 0;  // a fork()ed child must not share the parent's OFD
    shared_state* state_ = nullptr;
    std::size_t mapped_size_ = 0;
    std::timed_mutex threads_;  // this process's threads take turns here first
    std::atomic<std::thread::id> owner_{};
};

}  // namespace invsys
