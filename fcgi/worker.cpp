// How the threads use libfcgi (2.4.2, libfcgi/fcgiapp.c and os_unix.c):
//
// - FCGX_Accept_r() first runs FCGX_Finish_r(), then, only when
//   request.ipcFd < 0, blocks in accept() on request.listen_sock; with an
//   open ipcFd it reads the next FCGI_BEGIN_REQUEST from that connection.
//   A thread left to it would sit in accept() or in read() of an idle
//   kept-alive connection, where no other request and no stop can reach
//   it; and nginx, which sends on its kept-alive connections first, would
//   leave the requests it sends on further connections in the listen
//   backlog meanwhile. So the worker keeps one readiness set
//   (connection_set.hpp: epoll, one-shot entries) of the listening socket
//   and every open connection waiting for its next request; every thread
//   waits on it. A thread that gets the listening socket accepts one
//   connection and reads its first request itself; a thread that gets a
//   connection runs one request on it and, if the connection stays open,
//   puts it back into the set, where any thread may take its next request.
//   FCGX_Accept_r is called only once the connection is readable.
// - Each connection has its own FCGX_Request, kept between its requests.
//   libfcgi works on a duplicate of the accepted descriptor and closes it
//   when the connection ends; the set holds the original (see
//   connection_set.hpp).
// - FCGX_InitRequest gets listen_sock -1: if a connection ends (nginx
//   closed an idle one, or a protocol error), FCGX_Accept_r closes it and
//   its own accept() fails at once with EBADF instead of blocking.
// - FCGX_Finish_r() closes the connection when keepConnection is 0 (set
//   from FCGI_KEEP_CONN in FCGI_BEGIN_REQUEST) or a stream failed. Before
//   FCGX_Accept_r on a connection that has already been answered (or that
//   we accepted ourselves), keepConnection must be 1, or that leading
//   FCGX_Finish_r closes it.
// - During a stop the listening socket leaves the set, and a kept-alive
//   connection is never closed under nginx, which may be sending the next
//   request on it at that very moment (a POST lost that way is not
//   retried): the response to the next request on it is written by
//   write_last_response, after which nginx closes it. Idle ones are left
//   to nginx's keepalive_timeout, or given up at the shutdown timeout. The
//   threads exit once no connection is left (or at that timeout).
// - libfcgi's read() does not retry EINTR (it becomes a broken request):
//   request threads block every signal.
// - A peer that stalls or trickles must cost its own connection only. Every
//   accepted connection gets SO_RCVTIMEO and SO_SNDTIMEO of
//   fastcgi_io_timeout_s: libfcgi's read() or write() then fails with
//   EAGAIN, which fails the stream (FillBuffProc, EmptyBuffProc:
//   SetError), so FCGX_Accept_r gives up on the connection and
//   FCGX_Finish_r closes it. That bounds one call, not a peer sending one
//   byte just before each timeout, nor libfcgi's close (OS_Close: shutdown,
//   then read until EOF with 2 s selects, for as long as bytes come). So
//   each thread also publishes the connection it serves and when its
//   current phase (request header, body, response) must end; the watchdog
//   shuts down a connection whose phase overran, which makes every read
//   and write on it return at once. The handler's own run time is not
//   bounded here: the pool's scoreboard clock (request_timeout_s) covers
//   service.handle only.
// - Before a byte is read, the peer is checked (peer_check.hpp); a refused
//   one is closed at once.
// ipcFd and keepConnection sit below fcgiapp.h's "don't use" line; they
// have kept their meaning since 2.4.0 and are the only way to do the above.

#include "worker.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <invsys/log.hpp>
#include <invsys/service.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "abandoned_request.hpp"
#include "connection_set.hpp"
#include "peer_check.hpp"
#include "request_adapter.hpp"
#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

class event_fd {
  public:
    event_fd() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
    ~event_fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    event_fd(const event_fd&) = delete;
    event_fd& operator=(const event_fd&) = delete;
    int fd() const noexcept { return fd_; }
    // Never read back: once signalled it stays readable for every poller.
    void signal() const noexcept {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
    }

  private:
    int fd_;
};

std::string printable_excerpt(const std::string& text, std::size_t limit = 300) {
    std::string out;
    for (const char c : text.substr(0, limit))
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    if (text.size() > limit) out += "…";
    return out;
}

invsys::http_response internal_error_response() {
    invsys::http_response response;
    response.status = 500;
    response.headers = {{"Content-Type", "application/problem+json"}};
    response.body = R"({"type":"about:blank","title":"Internal Server Error","status":500,)"
                    R"("detail":"the request could not be processed"})";
    return response;
}

// At most one line a second, saying how many were left out since the last.
class rate_limited_log {
  public:
    void warn(const std::string& text) noexcept {
        const long now =
            std::chrono::duration_cast<std::chrono::seconds>(steady::now().time_since_epoch())
                .count();
        if (last_.exchange(now) == now) {
            suppressed_.fetch_add(1);
            return;
        }
        const unsigned long left_out = suppressed_.exchange(0);
        try {
            log_warn(left_out == 0 ? text
                                   : text + " (and " + std::to_string(left_out) +
                                         " more since the last such line)");
        } catch (...) {
        }
    }

  private:
    std::atomic<long> last_{0};
    std::atomic<unsigned long> suppressed_{0};
};

// What one request thread is doing on its connection, for the watchdog.
// fd stays open while it is published here: the thread clears it (under
// the mutex) before the connection can be closed, so the watchdog never
// shuts down a descriptor number that names another connection by then.
struct io_slot {
    std::mutex mutex;
    int fd = -1;
    const char* phase = nullptr;  // nullptr: in the handler, unbounded here
    steady::time_point deadline;
};

class worker {
  public:
    worker(const invsys::config& cfg, int listen_fd, invsys::service& service,
           const worker_options& options, peer_policy peers)
        : cfg_(cfg),
          listen_fd_(listen_fd),
          service_(service),
          max_requests_(options.max_requests),
          observer_(options.observer),
          peers_(std::move(peers)),
          io_timeout_(std::chrono::seconds(std::max(1u, cfg.fastcgi_io_timeout_s))),
          io_slots_(std::make_unique<io_slot[]>(std::max(1u, cfg.threads))) {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
            tcp_ = address.ss_family == AF_INET || address.ss_family == AF_INET6;
    }

    bool ready() const noexcept {
        return wake_.fd() >= 0 && self_stop_.fd() >= 0 && connections_.valid();
    }
    int self_stop_fd() const noexcept { return self_stop_.fd(); }
    unsigned long served() const noexcept { return served_.load(); }

    // Once every thread runs: from now on they accept.
    bool start_accepting() noexcept { return connections_.add_listener(listen_fd_); }

    void serve(unsigned thread) noexcept;

    // The watchdog: until stop_watchdog(), shuts down every connection
    // whose current phase has overrun fastcgi_io_timeout_s.
    void watch_io() noexcept;
    void stop_watchdog() noexcept;

    // Accepts no more connections (but, with drain_backlog, those already
    // queued), answers the requests still coming on open connections, and
    // lets the threads exit once no connection is left.
    void begin_stop(std::chrono::seconds timeout, bool drain_backlog);

    // The threads exit now, whatever they hold (threads that could not all
    // start).
    void abort() {
        begin_stop(std::chrono::seconds(0), false);
        connections_.exit();
    }

    // At the shutdown timeout: threads waiting for a request exit, and
    // every connection is shut down, which wakes a thread blocked reading
    // one. Returns how many connections were open.
    std::size_t give_up() noexcept {
        connections_.exit();
        return connections_.shut_down_all();
    }

    unsigned busy() const noexcept { return busy_.load(); }

    void thread_started() {
        std::lock_guard lock(mutex_);
        ++running_;
    }
    void thread_not_started() { thread_finished(); }

    // True when every thread has finished by `until`.
    bool wait_threads(steady::time_point until) {
        std::unique_lock lock(mutex_);
        return finished_.wait_until(lock, until, [&] { return running_ == 0; });
    }

    unsigned running() {
        std::lock_guard lock(mutex_);
        return running_;
    }

    steady::time_point deadline() const {
        return steady::time_point(steady::duration(deadline_.load()));
    }

  private:
    bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
    connection* accept_connection() noexcept;
    bool admit(int fd) noexcept;
    void set_nodelay(int fd) const noexcept;
    void publish_io(unsigned thread, int fd, const char* phase) noexcept;
    // The same connection enters `phase` (nullptr: the handler), whose
    // deadline starts now.
    void next_io_phase(unsigned thread, const char* phase) noexcept;
    invsys::http_response run_handler(unsigned thread, FCGX_Request& request,
                                      const invsys::http_request& http_request);
    void serve_connection(unsigned thread, connection* c) noexcept;
    bool run_request(unsigned thread, FCGX_Request& request);
    bool handle(unsigned thread, FCGX_Request& request);
    void thread_finished() {
        std::lock_guard lock(mutex_);
        --running_;
        finished_.notify_all();
    }
    void back_off_after(const char* call, int error);

    const invsys::config& cfg_;
    const int listen_fd_;
    invsys::service& service_;
    const unsigned max_requests_;
    worker_observer* const observer_;
    const peer_policy peers_;
    const steady::duration io_timeout_;
    const std::unique_ptr<io_slot[]> io_slots_;
    bool tcp_ = false;
    rate_limited_log refused_log_;
    rate_limited_log cut_log_;
    std::mutex watchdog_mutex_;
    std::condition_variable watchdog_wake_;
    bool watchdog_stop_ = false;

    connection_set connections_;
    event_fd wake_;       // the stop began: a thread backing off from accept() stops waiting
    event_fd self_stop_;  // max_requests reached: tells run_worker to stop
    std::atomic<bool> stopping_{false};
    std::atomic<steady::rep> deadline_{0};
    std::atomic<unsigned long> served_{0};
    std::atomic<unsigned> busy_{0};
    std::atomic<long> last_accept_error_log_{0};

    std::mutex mutex_;
    std::condition_variable finished_;
    unsigned running_ = 0;
};

void worker::back_off_after(const char* call, int error) {
    // One line per second at most: a full fd table fails every accept.
    const long now =
        std::chrono::duration_cast<std::chrono::seconds>(steady::now().time_since_epoch()).count();
    if (last_accept_error_log_.exchange(now) != now)
        log_error(std::string(call) + " failed: " + cfg_.listen + ": " + errno_text(error));
    std::this_thread::sleep_for(100ms);
}

// A fresh connection: refused (and closed) unless its peer is allowed;
// else given its I/O timeouts.
bool worker::admit(int fd) noexcept {
    try {
        const peer_policy::verdict verdict = peers_.check(fd);
        if (!verdict.allowed) {
            ::close(fd);
            refused_log_.warn("FastCGI peer refused: " + verdict.peer + " on " + cfg_.listen +
                              " (allowed: " + peers_.describe() + ")");
            return false;
        }
    } catch (...) {
        ::close(fd);
        return false;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(io_timeout_);
    timeval timeout{};
    timeout.tv_sec = static_cast<time_t>(seconds.count());
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0) {
        const int error = errno;
        ::close(fd);
        try {
            log_error("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO) failed on a FastCGI connection: " +
                      errno_text(error) + "; closed it");
        } catch (...) {
        }
        return false;
    }
    set_nodelay(fd);
    return true;
}

void worker::publish_io(unsigned thread, int fd, const char* phase) noexcept {
    io_slot& slot = io_slots_[thread];
    std::lock_guard lock(slot.mutex);
    slot.fd = fd;
    slot.phase = phase;
    slot.deadline = steady::now() + io_timeout_;
}

void worker::next_io_phase(unsigned thread, const char* phase) noexcept {
    io_slot& slot = io_slots_[thread];
    std::lock_guard lock(slot.mutex);
    slot.phase = phase;
    slot.deadline = steady::now() + io_timeout_;
}

// The service's handler, which the pool's scoreboard watches (and which
// request_timeout_s bounds); the connection's I/O deadline does not run
// meanwhile.
invsys::http_response worker::run_handler(unsigned thread, FCGX_Request& request,
                                          const invsys::http_request& http_request) {
    next_io_phase(thread, nullptr);
    if (observer_ != nullptr) {
        const char* method = FCGX_GetParam("REQUEST_METHOD", request.envp);
        const char* uri = FCGX_GetParam("REQUEST_URI", request.envp);
        observer_->request_started(thread, method ? method : "", uri ? uri : "");
    }
    // Whatever way the handler leaves, the request is over for the observer.
    struct finished_guard {
        worker_observer* observer;
        unsigned thread;
        ~finished_guard() {
            if (observer != nullptr) observer->request_finished(thread);
        }
    } finished{observer_, thread};
    return service_.handle(http_request);
}

void worker::watch_io() noexcept {
    // A quarter of the timeout, at most a second: a phase ends at most that
    // much after its deadline.
    const auto period = std::min<steady::duration>(std::chrono::seconds(1), io_timeout_ / 4);
    const unsigned threads = std::max(1u, cfg_.threads);
    std::unique_lock lock(watchdog_mutex_);
    // Bounded by stop_watchdog().
    while (!watchdog_wake_.wait_for(lock, period, [&] { return watchdog_stop_; })) {
        const auto now = steady::now();
        for (unsigned t = 0; t < threads; ++t) {
            io_slot& slot = io_slots_[t];
            std::lock_guard slot_lock(slot.mutex);
            if (slot.fd < 0 || slot.phase == nullptr || slot.deadline > now) continue;
            ::shutdown(slot.fd, SHUT_RDWR);
            try {
                cut_log_.warn(std::string("FastCGI connection cut: its ") + slot.phase +
                              " took longer than " +
                              std::to_string(std::max(1u, cfg_.fastcgi_io_timeout_s)) +
                              " s (fastcgi_io_timeout_s)");
            } catch (...) {
            }
            slot.phase = nullptr;  // once
        }
    }
}

void worker::stop_watchdog() noexcept {
    {
        std::lock_guard lock(watchdog_mutex_);
        watchdog_stop_ = true;
    }
    watchdog_wake_.notify_all();
}

void worker::set_nodelay(int fd) const noexcept {
    if (tcp_) {
        const int on = 1;  // one response per request: no Nagle delay
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
}

// The caller took the listening socket's event (which no other thread can
// get until it is armed again).
connection* worker::accept_connection() noexcept {
    // The stop removes the listening socket from the set; an event taken
    // just before is dropped.
    if (stopping()) return nullptr;
    // Non-blocking listener: the pool's other workers wake for the same
    // connection; the losers get EAGAIN. The connection itself is blocking.
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        try {
            switch (error) {
                case EAGAIN:
                case EINTR:
                case ECONNABORTED:
                case EPROTO:
                case EPERM:
                    break;
                case EINVAL: {
                    // Shut down to new connections: the pool's final stop,
                    // whose stop request reaches this process a moment later.
                    pollfd wake{wake_.fd(), POLLIN, 0};
                    ::poll(&wake, 1, 100);
                    break;
                }
                default:
                    back_off_after("accept", error);
                    break;
            }
        } catch (...) {
        }
        connections_.rearm_listener();
        return nullptr;
    }
    // At once: another thread may accept the next connection while this
    // one reads the first request of this one.
    connections_.rearm_listener();
    if (!admit(fd)) return nullptr;
    return connections_.adopt(fd);
}

// Runs one request on `c`, which the caller owns (taken from the set, or
// just accepted), then puts it back into the set or closes it.
void worker::serve_connection(unsigned thread, connection* c) noexcept {
    bool open = false;
    busy_.fetch_add(1);
    publish_io(thread, c->fd, "request header");
    try {
        open = run_request(thread, c->request);
    } catch (const std::exception& e) {
        log_error(std::string("FastCGI connection failed: ") + e.what());
    } catch (...) {
        log_error("FastCGI connection failed: unknown exception");
    }
    publish_io(thread, -1, nullptr);
    busy_.fetch_sub(1);
    // At the shutdown timeout an open connection is given up rather than
    // put back for threads that are leaving.
    if (open && !connections_.exiting() && connections_.rearm(c)) return;
    connections_.close(c);
}

// True when the connection stays open for another request.
bool worker::run_request(unsigned thread, FCGX_Request& request) {
    request.keepConnection = 1;
    if (FCGX_Accept_r(&request) != 0) {
        // The peer closed the connection (or broke the protocol); libfcgi
        // has closed its descriptor.
        return false;
    }
    // A response written the usual way while the stop began leaves the
    // connection open: the next request on it is the last.
    if (!handle(thread, request)) FCGX_Finish_r(&request);
    return request.ipcFd >= 0;
}

// Returns true when it has closed the connection itself (its last response
// while stopping).
bool worker::handle(unsigned thread, FCGX_Request& request) {
    const auto started = steady::now();
    next_io_phase(thread, "request body");
    invsys::http_request http_request;
    invsys::http_response response;
    try {
        switch (read_request(request, cfg_.max_body_bytes, http_request)) {
            case read_outcome::input_failed:
                log_warn("request dropped: " + http_request.method + " " + http_request.path +
                         ": the connection broke while reading the body");
                request.keepConnection = 0;
                return false;
            case read_outcome::over_limit_undrained:
                request.keepConnection = 0;
                break;
            case read_outcome::complete:
            case read_outcome::over_limit:
                break;
        }
        // A write nginx no longer waits for (see abandoned_request.hpp) is
        // not run: nobody would learn its outcome.
        if (is_write_method(http_request.method) && fastcgi_request_abandoned(request.ipcFd)) {
            log_warn("request skipped: " + http_request.method + " " + http_request.path +
                     ": nginx gave up on it before it ran (the connection is closed)");
            request.keepConnection = 0;
            return false;
        }
        response = run_handler(thread, request, http_request);
    } catch (const std::exception& e) {
        log_error("request failed before the service answered: " + http_request.method + " " +
                  http_request.path + ": " + e.what());
        response = internal_error_response();
    }
    next_io_phase(thread, "response");
    // Stopping: the last response on a kept-alive connection makes nginx
    // close it (see write_last_response); we must not close it under nginx.
    const bool last = stopping() && request.keepConnection;
    const bool delivered =
        last ? write_last_response(request, response) : write_response(request, response);
    if (!delivered) {
        log_debug("response not delivered: " + http_request.method + " " + http_request.path +
                  ": the connection is gone");
        request.keepConnection = 0;
    }
    if (response.status >= 500) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count();
        log_error(std::to_string(response.status) + " " + http_request.method + " " +
                  http_request.path + " (" + std::to_string(ms) +
                  " ms): " + printable_excerpt(response.body));
    }
    const unsigned long count = served_.fetch_add(1) + 1;
    if (max_requests_ != 0 && count == max_requests_) self_stop_.signal();
    return last;
}

void worker::serve(unsigned thread) noexcept {
    using kind = connection_set::event::kind;
    // Bounded by the stop: connections_.exit() ends it.
    for (;;) {
        const connection_set::event event = connections_.wait(-1);
        if (event.what == kind::exit) break;
        if (event.what == kind::listener) {
            if (connection* c = accept_connection()) serve_connection(thread, c);
        } else if (event.what == kind::connection) {
            serve_connection(thread, event.conn);
        }
    }
    thread_finished();
}

void worker::begin_stop(std::chrono::seconds timeout, bool drain_backlog) {
    deadline_.store((steady::now() + timeout).time_since_epoch().count());
    stopping_.store(true, std::memory_order_release);
    connections_.remove_listener();
    wake_.signal();
    if (drain_backlog) {
        // Connections nginx queued before the socket was closed to new ones
        // carry requests that must not be lost: into the set, where the
        // threads answer them. Bounded: the socket takes no new ones.
        unsigned queued = 0;
        for (int round = 0; round < 100000; ++round) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                break;  // EAGAIN: none left (EINVAL once a unix socket's queue is empty)
            }
            if (!admit(fd)) continue;
            connection* c = connections_.adopt(fd);
            if (c == nullptr) continue;
            if (connections_.rearm(c)) {
                ++queued;
            } else {
                connections_.close(c);
            }
        }
        if (queued != 0)
            log_info("answering " + std::to_string(queued) +
                     " FastCGI connections queued before the stop");
    }
    connections_.exit_when_empty();
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) out += separator;
        out += part;
    }
    return out;
}

struct stop_cause {
    bool recycling = false;
    std::string text;
};

// Waits for the stop fd (readable or hung up) or the worker's own stop.
stop_cause wait_for_stop(int stop_fd, const worker& w) {
    for (;;) {
        pollfd fds[2] = {{stop_fd, POLLIN, 0}, {w.self_stop_fd(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_error("poll on the stop fd failed: " + errno_text(errno) + "; stopping");
            return {false, "poll failed"};
        }
        if (fds[1].revents != 0)
            return {true, "recycling after " + std::to_string(w.served()) + " requests"};
        if (fds[0].revents != 0) return {false, "stop requested"};
    }
}

}  // namespace

int run_worker(const invsys::config& cfg, int listen_fd, const worker_options& options) {
    std::unique_ptr<invsys::service> service;
    try {
        service = std::make_unique<invsys::service>(
            cfg, invsys::service_options{options.database_migrated_before});
    } catch (const std::exception& e) {
        log_error(std::string("service start failed: ") + e.what());
        return 1;
    }
    if (const int rc = FCGX_Init(); rc != 0) {
        log_error("FCGX_Init failed: " + std::to_string(rc));
        return 1;
    }
    const int flags = ::fcntl(listen_fd, F_GETFL);
    if (flags < 0 || ::fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        log_error("fcntl(O_NONBLOCK) failed on the listening socket: " + errno_text(errno));
        return 1;
    }

    std::string peer_error;
    std::optional<peer_policy> peers = peer_policy::create(cfg, listen_fd, peer_error);
    if (!peers) {
        log_error("FastCGI peer check: " + peer_error);
        return 1;
    }
    worker w(cfg, listen_fd, *service, options, std::move(*peers));
    if (!w.ready()) {
        log_error("epoll_create1 or eventfd failed: " + errno_text(errno));
        return 1;
    }

    const unsigned thread_count = std::max(1u, cfg.threads);
    std::vector<std::thread> threads;
    {
        // Threads inherit this mask: signals go to the caller's thread only.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        try {
            for (unsigned i = 0; i < thread_count; ++i) {
                w.thread_started();
                try {
                    threads.emplace_back([&w, i] { w.serve(i); });
                } catch (...) {
                    w.thread_not_started();
                    w.abort();
                    throw;
                }
            }
        } catch (const std::exception& e) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            log_error(std::string("thread start failed: ") + e.what());
            for (auto& t : threads) t.join();
            return 1;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    if (!w.start_accepting()) {
        w.abort();
        for (auto& t : threads) t.join();
        return 1;
    }

    std::thread watchdog;
    try {
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        try {
            watchdog = std::thread([&w] { w.watch_io(); });
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            throw;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    } catch (const std::exception& e) {
        log_error(std::string("thread start failed (the I/O watchdog): ") + e.what());
        w.abort();
        for (auto& t : threads) t.join();
        return 1;
    }
    // Whatever way run_worker returns from here on (never across _exit).
    struct watchdog_guard {
        worker& w;
        std::thread& t;
        ~watchdog_guard() {
            w.stop_watchdog();
            if (t.joinable()) t.join();
        }
    } watchdog_stopper{w, watchdog};

    log_info("invsys-fcgi ready: listen=" + cfg.listen + " threads=" +
             std::to_string(thread_count) + " types=" + join(service->type_names(), ","));
    if (options.observer != nullptr) options.observer->ready();

    const stop_cause cause = wait_for_stop(options.stop_fd, w);
    log_info("invsys-fcgi stopping (" + cause.text + "): finishing requests in flight, at most " +
             std::to_string(cfg.shutdown_timeout_s) + " s");
    if (options.observer != nullptr) options.observer->stopping(cause.recycling, w.served());
    const bool drain_backlog = options.drain_backlog && options.drain_backlog();
    w.begin_stop(std::chrono::seconds(cfg.shutdown_timeout_s), drain_backlog);

    if (!w.wait_threads(w.deadline())) {
        const unsigned busy = w.busy();
        const std::size_t open = w.give_up();
        if (busy == 0)
            log_info("shutdown timeout: giving up " + std::to_string(open) +
                     " idle FastCGI connections");
        else
            log_warn("shutdown timeout: " + std::to_string(busy) + " threads busy; cut " +
                     std::to_string(open) + " connections");
        if (!w.wait_threads(steady::now() + 2s)) {
            log_error("invsys-fcgi exiting with " + std::to_string(w.busy()) +
                      " requests still running after the shutdown timeout");
            ::_exit(1);
        }
    }
    for (auto& t : threads) t.join();
    const unsigned long served = w.served();
    service.reset();
    log_info("invsys-fcgi stopped: " + std::to_string(served) + " requests served");
    return 0;
}

}  // namespace invsys::fcgi
