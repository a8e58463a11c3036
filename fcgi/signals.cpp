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

// Written by the handler, read by anyone: plain ints are what a signal
// handler may touch; lock-free atomics are the C++ spelling of that.
std::atomic<int> pipe_write_fd{-1};
std::atomic<int> pipe_read_fd{-1};
std::atomic<int> last_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signo) {
    const int saved_errno = errno;
    last_signal.store(signo, std::memory_order_relaxed);
    const int fd = pipe_write_fd.load(std::memory_order_relaxed);
    if (fd >= 0) {
        const unsigned char byte = static_cast<unsigned char>(signo);
        // A full pipe already says "stop"; nothing to do on EAGAIN.
        [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
    }
    errno = saved_errno;
}

}  // namespace

bool ignore_sigpipe() noexcept {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    if (::sigaction(SIGPIPE, &action, nullptr) != 0) {
        log_error("sigaction(SIGPIPE) failed: " + errno_text(errno));
        return false;
    }
    return true;
}

int install_stop_signals() noexcept {
    if (const int fd = pipe_read_fd.load(); fd >= 0) return fd;

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("pipe2 failed for the stop signals: " + errno_text(errno));
        return -1;
    }
    pipe_write_fd.store(fds[1]);
    pipe_read_fd.store(fds[0]);

    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    // SA_RESTART: a signal landing on a thread inside libfcgi's read(2)
    // must not turn into EINTR, which libfcgi treats as a broken connection.
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    for (const int signo : {SIGTERM, SIGINT}) {
        if (::sigaction(signo, &action, nullptr) != 0) {
            log_error(std::string("sigaction(") + (signo == SIGTERM ? "SIGTERM" : "SIGINT") +
                      ") failed: " + errno_text(errno));
            return -1;
        }
    }
    return fds[0];
}

int stop_signal_fd() noexcept { return pipe_read_fd.load(); }

int last_stop_signal() noexcept { return last_signal.load(std::memory_order_relaxed); }

}  // namespace invsys::fcgi
