// Gives up on a PostgreSQL server that does not answer at all. The
// server's statement_timeout cancels a slow statement, and TCP keepalives
// and tcp_user_timeout notice a dead peer or route; but a server whose
// processes are stopped (SIGSTOP, a frozen VM, a hung disk under the
// postmaster) has a live kernel that acknowledges every packet, and libpq
// would wait for its answer for ever. So each piece of work on a
// connection is armed with a deadline; a watchdog thread shuts the
// connection's socket down (shutdown(2)) when one passes, libpq's wait
// ends with "server closed the connection", the store answers 503 and
// drops the connection, and the pool reconnects (within connect_timeout)
// once the server answers again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace invsys {

class stall_guard {
  public:
    explicit stall_guard(std::chrono::milliseconds limit) : limit_(limit) {}
    ~stall_guard();
    stall_guard(const stall_guard&) = delete;
    stall_guard& operator=(const stall_guard&) = delete;

    // Armed from construction to destruction: the socket is shut down if
    // the deadline (now + limit) passes in between. The socket must stay
    // open until the armed object is gone.
    class armed {
      public:
        armed(stall_guard& guard, std::uint64_t id) : guard_(&guard), id_(id) {}
        armed(armed&& other) noexcept : guard_(other.guard_), id_(other.id_) {
            other.guard_ = nullptr;
        }
        armed& operator=(armed&&) = delete;
        ~armed() {
            if (guard_ != nullptr) guard_->disarm(id_);
        }

      private:
        stall_guard* guard_;
        std::uint64_t id_;
    };

    // A socket < 0 (no connection) arms nothing.
    armed arm(int socket);

  private:
    struct entry {
        int socket;
        std::chrono::steady_clock::time_point deadline;
    };

    void disarm(std::uint64_t id) noexcept;
    void watch();

    const std::chrono::milliseconds limit_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::uint64_t, entry> armed_;
    std::uint64_t next_id_ = 1;
    bool stopping_ = false;
    std::thread watcher_;  // started at the first arm(): after any fork()
};

}  // namespace invsys
