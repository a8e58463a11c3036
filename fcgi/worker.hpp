// One worker: the service plus cfg.threads threads serving FastCGI
// connections accepted from a listening socket someone else bound.
//
// This is the entry point a pool master forks around: it binds nothing and
// installs no signal handler. The caller owns the listening fd and the
// process's signal dispositions (see signals.hpp; SIGPIPE must already be
// ignored).
#pragma once

#include <functional>
#include <invsys/config.hpp>

namespace invsys::fcgi {

struct worker_options {
    // Graceful stop starts when this fd becomes readable or hangs up (a
    // self-pipe fed by signals, or a pipe whose write end the master holds
    // and closes — which also stops workers whose master died). -1: never.
    int stop_fd = -1;
    // Stop by itself after serving this many requests (0: never); for a
    // pool that recycles workers. The exit code is still 0.
    unsigned max_requests = 0;
    // Called once, on the main thread, when the stop begins and before the
    // threads learn of it — e.g. to refuse new connections on a socket this
    // process alone owns (refuse_new_connections).
    std::function<void()> on_stop;
    // While stopping, still accept the connections already queued on the
    // listening socket (and answer their request) until none is left. Only
    // for a socket that on_stop closed to new connections and no other
    // process accepts from; a pool's workers leave the queue to the others.
    bool drain_backlog = false;
};

// Constructs invsys::service (plugins, database, migrations) and serves
// until the stop: then accepts no more connections, finishes the requests
// in flight, answers requests that nginx sends on already open kept-alive
// connections and closes each connection after its response; idle
// connections are given up at cfg.shutdown_timeout_s.
//
// Returns 0 after a graceful stop, 1 when the service cannot be constructed
// (logged in one line) or the threads cannot start. If requests are still
// running shutdown_timeout_s (+ 2 s of grace) after the stop, the process
// ends with _exit(1): the service cannot be destroyed under them.
int run_worker(const invsys::config& cfg, int listen_fd, const worker_options& options);

// As above, stopping on SIGTERM/SIGINT through install_stop_signals(),
// which the caller must have called.
int run_worker(const invsys::config& cfg, int listen_fd);

}  // namespace invsys::fcgi
