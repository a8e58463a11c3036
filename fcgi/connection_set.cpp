#include "connection_set.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <invsys/log.hpp>
#include <new>
#include <string>
#include <thread>

#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

// epoll_event.data.ptr of the two entries that are not connections.
char listener_tag;
char exit_tag;

void log_failure(const char* what, int error) noexcept {
    try {
        log_error(std::string(what) + " failed: " + errno_text(error));
    } catch (...) {
    }
}

// libfcgi's side of a connection that is given up or already ended: its
// streams and parameters, and its descriptor if it is still open (closed
// plainly: libfcgi's own close would wait up to 2 s for the peer).
void release_request(connection* c) noexcept {
    FCGX_Free(&c->request, 0);
    if (c->request.ipcFd >= 0) {
        ::close(c->request.ipcFd);
        c->request.ipcFd = -1;
    }
}

}  // namespace

connection_set::connection_set()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      exit_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (epoll_fd_ < 0 || exit_fd_ < 0) return;
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: once written, every wait returns it
    ev.data.ptr = &exit_tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, exit_fd_, &ev) != 0) {
        ::close(exit_fd_);
        exit_fd_ = -1;
    }
}

connection_set::~connection_set() {
    for (connection* c : open_) {
        release_request(c);
        ::close(c->fd);
        delete c;
    }
    open_.clear();
    if (exit_fd_ >= 0) ::close(exit_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

bool connection_set::add_listener(int fd) noexcept {
    listen_fd_ = fd;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &listener_tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0) return true;
    log_failure("epoll_ctl(EPOLL_CTL_ADD) of the listening socket", errno);
    return false;
}

void connection_set::rearm_listener() noexcept {
    if (listener_removed_.load()) return;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = &listener_tag;
    // ENOENT: remove_listener() came in between.
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev) != 0 && errno != ENOENT)
        log_failure("epoll_ctl(EPOLL_CTL_MOD) of the listening socket", errno);
}

void connection_set::remove_listener() noexcept {
    if (listener_removed_.exchange(true) || listen_fd_ < 0) return;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
}

connection* connection_set::adopt(int fd) noexcept {
    const int libfcgi_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (libfcgi_fd < 0) {
        log_failure("dup of an accepted FastCGI connection", errno);
        ::close(fd);
        return nullptr;
    }
    connection* c = new (std::nothrow) connection;
    if (c != nullptr) {
        FCGX_InitRequest(&c->request, -1, 0);
        c->request.ipcFd = libfcgi_fd;
        c->request.keepConnection = 1;
        c->fd = fd;
        try {
            std::lock_guard lock(mutex_);
            open_.insert(c);
            return c;
        } catch (...) {
            delete c;
        }
    }
    try {
        log_error("out of memory for an accepted FastCGI connection; closing it");
    } catch (...) {
    }
    ::close(libfcgi_fd);
    ::close(fd);
    return nullptr;
}

bool connection_set::rearm(connection* c) noexcept {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.ptr = c;
    const bool added = c->registered;
    // Before epoll_ctl: once it succeeds, another thread may own `c`.
    c->registered = true;
    if (::epoll_ctl(epoll_fd_, added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) return true;
    const int error = errno;
    c->registered = added;
    log_failure("epoll_ctl of a kept-alive FastCGI connection", error);
    return false;
}

void connection_set::close(connection* c) noexcept {
    release_request(c);
    bool now_empty = false;
    {
        // Under the mutex: shut_down_all() never sees a closed descriptor.
        std::lock_guard lock(mutex_);
        open_.erase(c);
        if (c->registered) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
        ::close(c->fd);
        now_empty = exit_when_empty_ && open_.empty();
    }
    delete c;
    if (now_empty) exit();
}

connection_set::event connection_set::wait(int timeout_ms) noexcept {
    if (exiting()) return {event::kind::exit, nullptr};
    epoll_event ev{};
    const int n = ::epoll_wait(epoll_fd_, &ev, 1, timeout_ms);
    if (n < 0) {
        const int error = errno;
        if (error == EINTR) return {};
        // One line per second at most; never a spinning loop.
        const long now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
        if (last_error_log_.exchange(now) != now) log_failure("epoll_wait", error);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return {};
    }
    if (n == 0) return {};
    // A connection taken while exiting stays in the set, disarmed, and is
    // closed with it.
    if (ev.data.ptr == &exit_tag || exiting()) return {event::kind::exit, nullptr};
    if (ev.data.ptr == &listener_tag) return {event::kind::listener, nullptr};
    return {event::kind::connection, static_cast<connection*>(ev.data.ptr)};
}

void connection_set::exit() noexcept {
    exiting_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(exit_fd_, &one, sizeof one);
}

void connection_set::exit_when_empty() noexcept {
    bool now_empty = false;
    {
        std::lock_guard lock(mutex_);
        exit_when_empty_ = true;
        now_empty = open_.empty();
    }
    if (now_empty) exit();
}

std::size_t connection_set::shut_down_all() noexcept {
    std::lock_guard lock(mutex_);
    for (connection* c : open_) ::shutdown(c->fd, SHUT_RDWR);
    return open_.size();
}

std::size_t connection_set::size() noexcept {
    std::lock_guard lock(mutex_);
    return open_.size();
}

}  // namespace invsys::fcgi
