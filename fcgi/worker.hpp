// One worker: the service plus cfg.threads threads serving FastCGI
// connections accepted from a listening socket someone else bound. A
// connection holds no thread between its requests: any free thread serves
// any open connection that has a request, so kept-alive connections, however
// many nginx keeps open, never keep a new one waiting.
//
// This is the entry point the pool's master forks around: it binds nothing
// and installs no signal handler. The caller owns the listening fd and the
// process's signal dispositions (see signals.hpp; SIGPIPE must already be
// ignored).
#pragma once

#include <functional>
#include <invsys/config.hpp>
#include <string_view>

namespace invsys::fcgi {

// Told what a worker is doing, for the pool's scoreboard. Every call is
// noexcept and must be cheap: request_started/request_finished run on the
// request threads, around every request.
class worker_observer {
  public:
    virtual ~worker_observer() = default;
    // The service is constructed and the threads are accepting.
    virtual void ready() noexcept {}
    // Thread `thread` (0 ≤ thread < cfg.threads, at most one request at a
    // time each) runs the service's handler for a request whose header and
    // body are read; `method` and `uri` are REQUEST_METHOD and REQUEST_URI.
    // Reading the request and writing the response are not included: those
    // are bounded by fastcgi_io_timeout_s per connection, not by the pool.
    virtual void request_started(unsigned /*thread*/, std::string_view /*method*/,
                                 std::string_view /*uri*/) noexcept {}
    // The handler returned (or threw); its response is not written yet.
    virtual void request_finished(unsigned /*thread*/) noexcept {}
    // The stop began: `recycling` when the worker reached max_requests by
    // itself rather than being told through stop_fd.
    virtual void stopping(bool /*recycling*/, unsigned long /*served*/) noexcept {}
};

struct worker_options {
    // Graceful stop starts when this fd becomes readable or hangs up (a
    // pipe whose write end the master holds and closes — which also stops
    // workers whose master died). -1: never.
    int stop_fd = -1;
    // Stop by itself after serving this many requests (0: never); for a
    // pool that recycles workers. The exit code is still 0.
    unsigned max_requests = 0;
    // Asked once, on the main thread, when the stop begins and before the
    // threads learn of it: true to still accept the connections already
    // queued on the listening socket (and answer their request) until none
    // is left. Only when nobody will accept from that socket any more and
    // it was closed to new connections before the stop began (the pool's
    // final stop); never when other workers go on serving from it. Empty:
    // false.
    std::function<bool()> drain_backlog;
    // Not owned; must outlive run_worker. nullptr: nobody is told.
    worker_observer* observer = nullptr;
    // An earlier worker of this pool got ready (so the schema is
    // migrated): a database that does not answer at start is served 503
    // instead of failing the start (invsys::service_options).
    bool database_migrated_before = false;
};

// Every accepted connection's peer is checked first (peer_check.hpp): one
// not allowed is closed at once and logged. A connection whose peer stalls
// or trickles for fastcgi_io_timeout_s is cut (logged); that frees its
// thread and costs nothing else.
//
// Constructs invsys::service (plugins, database, migrations) and serves
// until the stop: then accepts no more connections, finishes the requests
// in flight, answers requests that nginx sends on already open kept-alive
// connections and closes each connection after its response; idle
// connections are given up at cfg.shutdown_timeout_s. Returns as soon as
// no connection is left open.
//
// Returns 0 after a graceful stop, 1 when the service cannot be constructed
// (logged in one line), a name of the peer check does not resolve, or the
// threads cannot start. If requests are still running shutdown_timeout_s
// (+ 2 s of grace) after the stop, the process
// ends with _exit(1): the service cannot be destroyed under them.
int run_worker(const invsys::config& cfg, int listen_fd, const worker_options& options);

}  // namespace invsys::fcgi
