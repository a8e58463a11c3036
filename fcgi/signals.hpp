// Process signals of invsys-fcgi. The master turns every signal it cares
// about into a byte on a self-pipe, so that its event loop poll()s one fd;
// its children get the dispositions their role needs.
//
// These functions change process-wide state (signal dispositions). Only the
// process's entry point calls them: the master for itself, and a freshly
// forked child for itself. Request threads never see a signal: run_worker
// blocks all of them in its threads.
#pragma once

namespace invsys::fcgi {

// SIGPIPE is ignored: a peer that went away shows up as EPIPE from write(2)
// instead of killing the process. Must run before FCGX_Init(), which
// otherwise installs its own SIGPIPE handler. Returns false (and logs) when
// sigaction fails.
bool ignore_sigpipe() noexcept;

// The master's signals. Each handler marks its signal pending and writes
// one byte into a private non-blocking close-on-exec pipe (SA_RESTART).
// Returns the pipe's read end, -1 (logged) on failure.
int install_master_signals() noexcept;

// What arrived since the last call (pending marks are cleared; the pipe is
// drained). Several of one kind count once.
struct pending_signals {
    bool child = false;   // SIGCHLD: reap
    bool reload = false;  // SIGHUP
    int stop = 0;         // SIGTERM, SIGQUIT or SIGINT (the last one), 0: none
};
pending_signals take_pending_signals() noexcept;

// In a freshly forked worker: the master's handlers are gone and its pipe
// closed. SIGTERM, SIGINT, SIGQUIT and SIGHUP are ignored: a worker stops
// when the master tells it (a Ctrl-C or a stop sent to the whole process
// group reaches the master too, which drains the workers rather than cut
// their requests); SIGKILL still ends a worker. SIGPIPE stays ignored.
void become_worker_signals() noexcept;

// In a freshly forked child about to exec: every signal the master handles
// or ignores goes back to its default and none is blocked.
// Async-signal-safe.
void reset_signals_for_exec() noexcept;

}  // namespace invsys::fcgi
