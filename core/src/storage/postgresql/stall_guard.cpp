#include "storage/postgresql/stall_guard.hpp"

#include <sys/socket.h>

#include <invsys/log.hpp>
#include <string>

namespace invsys {

stall_guard::~stall_guard() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (watcher_.joinable()) watcher_.join();
}

stall_guard::armed stall_guard::arm(int socket) {
    std::lock_guard lock(mutex_);
    if (socket < 0) return armed(*this, 0);
    if (!watcher_.joinable()) watcher_ = std::thread([this] { watch(); });
    const std::uint64_t id = next_id_++;
    armed_.emplace(id, entry{socket, std::chrono::steady_clock::now() + limit_});
    // The watcher sleeps until the earliest deadline; a new one is never
    // earlier than those armed before it (one limit for all), so no wake-up.
    return armed(*this, id);
}

void stall_guard::disarm(std::uint64_t id) noexcept {
    if (id == 0) return;
    std::lock_guard lock(mutex_);
    armed_.erase(id);
}

void stall_guard::watch() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (armed_.empty()) {
            changed_.wait_for(lock, limit_);
            continue;
        }
        // Ids increase with deadlines: the first entry is the earliest.
        auto first = armed_.begin();
        // A copy: wait_until reads its deadline again after waking, and the
        // entry may be disarmed (erased) while the mutex is released.
        const auto deadline = first->second.deadline;
        if (std::chrono::steady_clock::now() < deadline) {
            changed_.wait_until(lock, deadline);
            continue;
        }
        // Under the mutex: the arming thread cannot disarm, and so cannot
        // close the socket, while it is being shut down.
        ::shutdown(first->second.socket, SHUT_RDWR);
        armed_.erase(first);
        log_error("storage: PostgreSQL did not answer within " + std::to_string(limit_.count()) +
                  " ms; connection closed (the server is stopped or unreachable)");
    }
}

}  // namespace invsys
