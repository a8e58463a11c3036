#include "storage/write_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace invsys {

write_lock::write_lock(const std::string& lock_path) : path_(lock_path) {
    // 0666 before the umask, as for the database file SQLite itself creates.
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        throw std::runtime_error("cannot open lock file " + path_ + ": " + std::strerror(errno));
    }
}

write_lock::~write_lock() {
    if (fd_ >= 0) ::close(fd_);
}

bool write_lock::try_lock_until(deadline until) {
    // Threads of this process wait here, so at most one of them polls the
    // flock against the other processes.
    {
        std::unique_lock lock(mutex_);
        if (!released_.wait_until(lock, until, [this] { return !held_; })) return false;
        held_ = true;
    }
    bool had = false;
    try {
        had = try_flock_until(until);
    } catch (...) {
        release_in_process();
        throw;
    }
    if (!had) release_in_process();
    return had;
}

void write_lock::unlock() noexcept {
    ::flock(fd_, LOCK_UN);
    release_in_process();
}

void write_lock::release_in_process() noexcept {
    {
        std::lock_guard lock(mutex_);
        held_ = false;
    }
    released_.notify_one();
}

// A blocking flock(LOCK_EX) cannot be given a timeout short of a signal
// (which would mean installing a handler inside a library that lives in the
// FastCGI worker) or a helper thread (which could not be stopped while
// blocked). So we poll with LOCK_NB, starting at 50 µs and doubling up to
// 1 ms: a waiter notices a release within a millisecond — against the 1 to
// 100 ms sleeps of SQLite's busy handler — and costs little CPU while it
// waits. Fairness between processes is not guaranteed; a writer that keeps
// losing gets a 503 after busy_timeout_ms rather than waiting forever.
bool write_lock::try_flock_until(deadline until) {
    auto pause = std::chrono::microseconds(50);
    constexpr auto longest_pause = std::chrono::microseconds(1000);
    for (;;) {
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) {
            throw std::runtime_error("flock failed: " + path_ + ": " + std::strerror(errno));
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= until) return false;
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(pause, until - now));
        pause = std::min(pause * 2, longest_pause);
    }
}

}  // namespace invsys
