// How the threads use libfcgi (2.4.2, libfcgi/fcgiapp.c and os_unix.c):
//
// - FCGX_Accept_r() first runs FCGX_Finish_r(), then, only when
//   request.ipcFd < 0, blocks in accept() on request.listen_sock; with an
//   open ipcFd it reads the next FCGI_BEGIN_REQUEST from that connection.
//   A thread left to it would sit in accept() or in read() of an idle
//   kept-alive connection where no stop can reach it. So each thread does
//   its own poll() on (listening fd | open connection) + a wake fd, accepts
//   itself, and calls FCGX_Accept_r only once the connection is readable.
// - FCGX_InitRequest gets listen_sock -1: if a connection ends (nginx
//   closed an idle one, or a protocol error), FCGX_Accept_r closes it and
//   its own accept() fails at once with EBADF instead of blocking.
// - FCGX_Finish_r() closes the connection when keepConnection is 0 (set
//   from FCGI_KEEP_CONN in FCGI_BEGIN_REQUEST) or a stream failed. Before
//   FCGX_Accept_r on a connection we accepted ourselves, keepConnection
//   must be 1, or that leading FCGX_Finish_r closes it.
// - During a stop a kept-alive connection is never closed under nginx,
//   which may be sending the next request on it at that very moment (a
//   POST lost that way is not retried): the response to the next request
//   on it is written by write_last_response, after which nginx closes it.
//   Idle ones are left to nginx's keepalive_timeout, or cut at the
//   shutdown timeout.
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

// The connection a thread holds, so that the stop can cut it at the
// deadline. Updated after every libfcgi call that may have closed it.
struct connection_slot {
    std::mutex mutex;
    int fd = -1;
    void set(int value) {
        std::lock_guard lock(mutex);
        fd = value;
    }
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

    bool ready() const noexcept { return wake_.fd() >= 0 && self_stop_.fd() >= 0; }
    int self_stop_fd() const noexcept { return self_stop_.fd(); }
    unsigned long served() const noexcept { return served_.load(); }

    void serve(unsigned thread, connection_slot& slot) noexcept;

    void begin_stop(std::chrono::seconds timeout, bool drain_backlog) {
        deadline_.store((steady::now() + timeout).time_since_epoch().count());
        drain_backlog_.store(drain_backlog);
        stopping_.store(true);
        wake_.signal();
    }

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
    int accept_connection();
    int accept_queued();
    bool wait_for_request(int fd);
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

    event_fd wake_;       // stop requested: every poll in every thread returns
    event_fd self_stop_;  // max_requests reached: tells run_worker to stop
    std::atomic<bool> stopping_{false};
    std::atomic<bool> drain_backlog_{false};
    std::atomic<steady::rep> deadline_{0};
    std::atomic<unsigned long> served_{0};
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

int worker::accept_connection() {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
        if (errno != EINTR) back_off_after("poll", errno);
        return -1;
    }
    if (stopping()) return -1;
    if (!(fds[0].revents & POLLIN)) {
        if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            back_off_after("poll on the listening socket", EINVAL);
        return -1;
    }
    // Non-blocking listener: the threads (and the pool's other workers)
    // all wake for one connection; the losers get EAGAIN and poll again.
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        switch (errno) {
            case EAGAIN:
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
            case EPERM:
                return -1;
            case EINVAL: {
                // Shut down to new connections: the pool's final stop,
                // whose stop request reaches this process a moment later.
                pollfd wake{wake_.fd(), POLLIN, 0};
                ::poll(&wake, 1, 100);
                return -1;
            }
            default:
                back_off_after("accept", errno);
                return -1;
        }
    }
    if (tcp_) {
        const int on = 1;  // one response per request: no Nagle delay
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    return fd;
}

int worker::accept_queued() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0 && tcp_) {
        const int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    return fd;
}

bool worker::wait_for_request(int fd) {
    for (;;) {
        if (!stopping()) {
            pollfd fds[2] = {{fd, POLLIN, 0}, {wake_.fd(), POLLIN, 0}};
            const int rc = ::poll(fds, 2, -1);
            if (rc < 0 && errno == EINTR) continue;
            if (rc < 0 || fds[0].revents != 0) return true;  // libfcgi will see what it is
            continue;                                        // woken: now stopping
        }
        // Draining: a request nginx sends on this connection is still
        // answered; an idle connection is given up at the deadline only.
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline() - steady::now());
        if (left <= 0ms) return false;
        pollfd fds{fd, POLLIN, 0};
        const int rc = ::poll(&fds, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (rc < 0 && errno == EINTR) continue;
        if (rc != 0) return true;
    }
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

void worker::serve(unsigned thread, connection_slot& slot) noexcept {
    FCGX_Request request;
    FCGX_InitRequest(&request, -1, 0);
    try {
        for (;;) {
            if (request.ipcFd < 0) {
                int fd = -1;
                if (!stopping()) {
                    fd = accept_connection();
                    if (fd < 0) continue;
                } else {
                    // Connections nginx queued before the socket was closed
                    // to new ones carry requests that must not be lost.
                    if (drain_backlog_.load()) fd = accept_queued();
                    if (fd < 0) break;
                }
                request.ipcFd = fd;
                request.keepConnection = 1;
                slot.set(fd);
            }
            if (!wait_for_request(request.ipcFd)) {
                log_info("closing an idle FastCGI connection at the shutdown timeout");
                break;
            }
            if (FCGX_Accept_r(&request) != 0) {
                // The peer closed the connection (or broke the protocol);
                // libfcgi has closed it.
                slot.set(request.ipcFd);
                continue;
            }
            // A response written the usual way while the stop began leaves
            // the connection open: the next request on it is the last.
            if (!handle(thread, request)) FCGX_Finish_r(&request);
            slot.set(request.ipcFd);
        }
    } catch (const std::exception& e) {
        log_error(std::string("FastCGI thread failed: ") + e.what());
    } catch (...) {
        log_error("FastCGI thread failed: unknown exception");
    }
    {
        std::lock_guard lock(slot.mutex);
        FCGX_Free(&request, request.ipcFd >= 0 ? 1 : 0);
        slot.fd = -1;
    }
    thread_finished();
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
        log_error("eventfd failed: " + errno_text(errno));
        return 1;
    }

    const unsigned thread_count = std::max(1u, cfg.threads);
    std::vector<std::unique_ptr<connection_slot>> slots;
    std::vector<std::thread> threads;
    {
        // Threads inherit this mask: signals go to the caller's thread only.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &previous);
        try {
            for (unsigned i = 0; i < thread_count; ++i) {
                slots.push_back(std::make_unique<connection_slot>());
                w.thread_started();
                connection_slot& slot = *slots.back();
                try {
                    threads.emplace_back([&w, &slot, i] { w.serve(i, slot); });
                } catch (...) {
                    w.thread_not_started();
                    w.begin_stop(0s, false);
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
        unsigned open = 0;
        for (auto& slot : slots) {
            std::lock_guard lock(slot->mutex);
            if (slot->fd >= 0) {
                ::shutdown(slot->fd, SHUT_RDWR);  // wakes a read blocked inside libfcgi
                ++open;
            }
        }
        log_warn("shutdown timeout: " + std::to_string(w.running()) + " threads busy; cut " +
                 std::to_string(open) + " connections");
        if (!w.wait_threads(steady::now() + 2s)) {
            log_error("invsys-fcgi exiting with " + std::to_string(w.running()) +
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
