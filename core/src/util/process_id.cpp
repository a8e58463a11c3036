#include "util/process_id.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace invsys {
namespace {

// 0 until the first call; constant-initialised, so usable from any static
// initialiser.
std::atomic<pid_t> cached_pid{0};

// Runs in the child, in the forking thread, before fork() returns there.
void forget_parent_pid() noexcept { cached_pid.store(::getpid(), std::memory_order_relaxed); }

}  // namespace

pid_t current_pid() noexcept {
    pid_t pid = cached_pid.load(std::memory_order_relaxed);
    if (pid != 0) return pid;
    // Registered before the first value is stored: a fork from then on
    // refreshes the child's copy; one before left it 0 in the child too.
    static const bool registered = pthread_atfork(nullptr, nullptr, &forget_parent_pid) == 0;
    pid = ::getpid();
    // Without the handler (pthread_atfork fails only without memory) the
    // pid is not cached: correct, only slower.
    if (registered) cached_pid.store(pid, std::memory_order_relaxed);
    return pid;
}

}  // namespace invsys
