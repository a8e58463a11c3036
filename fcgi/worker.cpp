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
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "connection_set.hpp"
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

class worker {
  public:
    worker(const invsys::config& cfg, int listen_fd, invsys::service& service,
           const worker_options& options)
        : cfg_(cfg),
          listen_fd_(listen_fd),
          service_(service),
          max_requests_(options.max_requests),
          observer_(options.observer) {
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
    void set_nodelay(int fd) const noexcept;
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
    bool tcp_ = false;

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
    set_nodelay(fd);
    return connections_.adopt(fd);
}

// Runs one request on `c`, which the caller owns (taken from the set, or
// just accepted), then puts it back into the set or closes it.
void worker::serve_connection(unsigned thread, connection* c) noexcept {
    bool open = false;
    busy_.fetch_add(1);
    try {
        open = run_request(thread, c->request);
    } catch (const std::exception& e) {
        log_error(std::string("FastCGI connection failed: ") + e.what());
    } catch (...) {
        log_error("FastCGI connection failed: unknown exception");
    }
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
    if (observer_ != nullptr) {
        const char* method = FCGX_GetParam("REQUEST_METHOD", request.envp);
        const char* uri = FCGX_GetParam("REQUEST_URI", request.envp);
        observer_->request_started(thread, method ? method : "", uri ? uri : "");
    }
    // Whatever way handle() leaves, the request is over for the observer.
    struct finished_guard {
        worker_observer* observer;
        unsigned thread;
        ~finished_guard() {
            if (observer != nullptr) observer->request_finished(thread);
        }
    } finished{observer_, thread};
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
        response = service_.handle(http_request);
    } catch (const std::exception& e) {
        log_error("request failed before the service answered: " + http_request.method + " " +
                  http_request.path + ": " + e.what());
        response = internal_error_response();
    }
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
            set_nodelay(fd);
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
        service = std::make_unique<invsys::service>(cfg);
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

    worker w(cfg, listen_fd, *service, options);
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
