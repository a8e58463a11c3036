#include "signals.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <invsys/log.hpp>

#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

// Written by the handler, read by the loop: lock-free atomics are the C++
// spelling of what a signal handler may touch.
std::atomic<int> pipe_write_fd{-1};
std::atomic<int> pipe_read_fd{-1};
std::atomic<bool> child_pending{false};
std::atomic<bool> reload_pending{false};
std::atomic<int> stop_pending{0};
static_assert(std::atomic<int>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

constexpr int master_signals[] = {SIGCHLD, SIGHUP, SIGTERM, SIGQUIT, SIGINT};

extern "C" void on_master_signal(int signo) {
    const int saved_errno = errno;
    if (signo == SIGCHLD)
        child_pending.store(true);
    else if (signo == SIGHUP)
        reload_pending.store(true);
    else
        stop_pending.store(signo);
    const int fd = pipe_write_fd.load(std::memory_order_relaxed);
    if (fd >= 0) {
        // A full pipe already wakes the loop, which reads the marks.
        const unsigned char byte = static_cast<unsigned char>(signo);
        [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
    }
    errno = saved_errno;
}

bool set_disposition(int signo, void (*handler)(int), int flags) noexcept {
    struct sigaction action {};
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigfillset(&action.sa_mask);
    return ::sigaction(signo, &action, nullptr) == 0;
}

}  // namespace

bool ignore_sigpipe() noexcept {
    if (!set_disposition(SIGPIPE, SIG_IGN, 0)) {
        log_error("sigaction(SIGPIPE) failed: " + errno_text(errno));
        return false;
    }
    return true;
}

int install_master_signals() noexcept {
    if (const int fd = pipe_read_fd.load(); fd >= 0) return fd;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("pipe2 failed for the signal pipe: " + errno_text(errno));
        return -1;
    }
    pipe_write_fd.store(fds[1]);
    pipe_read_fd.store(fds[0]);
    for (const int signo : master_signals) {
        // SA_NOCLDSTOP: a stopped or continued worker is not an exit.
        const int flags = SA_RESTART | (signo == SIGCHLD ? SA_NOCLDSTOP : 0);
        if (!set_disposition(signo, on_master_signal, flags)) {
            log_error(std::string("sigaction(SIG") + ::sigabbrev_np(signo) +
                      ") failed: " + errno_text(errno));
            return -1;
        }
    }
    return fds[0];
}

pending_signals take_pending_signals() noexcept {
    if (const int fd = pipe_read_fd.load(); fd >= 0) {
        unsigned char buffer[256];
        for (int i = 0; i < 64 && ::read(fd, buffer, sizeof buffer) > 0; ++i) {
        }
    }
    pending_signals out;
    out.child = child_pending.exchange(false);
    out.reload = reload_pending.exchange(false);
    out.stop = stop_pending.exchange(0);
    return out;
}

void become_worker_signals() noexcept {
    for (const int signo : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) set_disposition(signo, SIG_IGN, 0);
    set_disposition(SIGCHLD, SIG_DFL, 0);
    for (std::atomic<int>* end : {&pipe_write_fd, &pipe_read_fd}) {
        const int fd = end->exchange(-1);
        if (fd >= 0) ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void reset_signals_for_exec() noexcept {
    for (const int signo : master_signals) set_disposition(signo, SIG_DFL, 0);
    set_disposition(SIGPIPE, SIG_DFL, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace invsys::fcgi
