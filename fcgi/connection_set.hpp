// The readiness set of one worker process: one epoll instance holding the
// listening socket and every open FastCGI connection of the worker that
// waits for its next request, so that any free thread serves any
// connection that has a request (libfcgi alone ties a thread to a
// connection for as long as the connection stays open, and nginx, which
// reuses its kept-alive connections first, then leaves the requests it
// sends on further connections in the listen backlog).
//
// Every entry is EPOLLONESHOT: the thread that takes an event owns that
// connection (or the listener) until it arms it again, and no other thread
// can see it meanwhile. The threads wait with maxevents 1.
#pragma once

#include <fcgiapp.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <unordered_set>

namespace invsys::fcgi {

// One accepted FastCGI connection and its FCGX_Request, reused for every
// request on it.
//
// `fd` is the descriptor accept() returned: it is what the epoll set
// holds, and only connection_set closes it. libfcgi works on a duplicate,
// request.ipcFd, and closes that one itself when it ends the connection
// (end of stream, protocol error, keepConnection 0, write_last_response),
// which leaves ipcFd at -1. So while a connection is in the set, `fd`
// names that socket and nothing else — a descriptor number freed by
// libfcgi and reused by another accept() cannot be confused with it —
// and connection_set removes it from the epoll set before closing it.
struct connection {
    FCGX_Request request{};
    int fd = -1;
    bool registered = false;  // in the epoll set (added after its first request)
};

class connection_set {
  public:
    connection_set();
    // Closes every connection still in the set (idle ones, given up); no
    // thread may use the set any more.
    ~connection_set();
    connection_set(const connection_set&) = delete;
    connection_set& operator=(const connection_set&) = delete;

    // False when epoll or eventfd could not be created (errno tells).
    bool valid() const noexcept { return epoll_fd_ >= 0 && exit_fd_ >= 0; }

    // The listening socket (non-blocking), armed once: a thread that takes
    // its event accepts at most one connection and arms it again.
    bool add_listener(int fd) noexcept;
    void rearm_listener() noexcept;
    // No thread gets the listener's event after this (one taken before may
    // still be accepting; its rearm_listener() does nothing).
    void remove_listener() noexcept;

    // Takes over an accepted connection (blocking, close-on-exec); not yet
    // in the epoll set: its first request is read by the caller. nullptr
    // when it could not be duplicated (fd closed, logged).
    connection* adopt(int fd) noexcept;
    // After a request on `c` (owned by the caller, its ipcFd still open):
    // any thread may serve its next request. Nothing may touch `c` after
    // this returns true; false (logged): `c` is still the caller's, to close.
    bool rearm(connection* c) noexcept;
    // Removes `c` (owned by the caller) from the set, closes whatever of
    // its descriptors is still open and frees it.
    void close(connection* c) noexcept;

    struct event {
        enum class kind { none, listener, connection, exit } what = kind::none;
        connection* conn = nullptr;  // kind::connection: now owned by the caller
    };
    // Waits for one event. kind::none on a timeout or an error (an error is
    // logged at most once a second and waited out for 100 ms).
    event wait(int timeout_ms) noexcept;

    // From now on every wait() returns kind::exit at once.
    void exit() noexcept;
    bool exiting() const noexcept { return exiting_.load(std::memory_order_acquire); }
    // exit() as soon as no connection is left in the set (now if none is).
    void exit_when_empty() noexcept;

    // shutdown(SHUT_RDWR) of every connection in the set, idle or being
    // served: wakes a read blocked inside libfcgi. Returns how many.
    std::size_t shut_down_all() noexcept;
    std::size_t size() noexcept;

  private:
    int epoll_fd_ = -1;
    int exit_fd_ = -1;  // eventfd, level-triggered in the set: once written, wakes every wait
    int listen_fd_ = -1;
    std::atomic<bool> listener_removed_{false};
    std::atomic<bool> exiting_{false};
    std::atomic<long> last_error_log_{0};

    std::mutex mutex_;
    std::unordered_set<connection*> open_;  // every adopted connection not yet closed
    bool exit_when_empty_ = false;
};

}  // namespace invsys::fcgi
