// Process signals of an invsys-fcgi process: a stop request becomes a
// readable pipe, so that whoever waits for it can poll() it with other fds.
//
// These functions change process-wide state (signal dispositions). Only the
// process's entry point calls them: main() for a single-process server, the
// pool's master for itself, and a freshly forked worker for itself. Request
// threads never see a signal: run_worker blocks all of them in its threads.
#pragma once

namespace invsys::fcgi {

// SIGPIPE is ignored: a peer that went away shows up as EPIPE from write(2)
// instead of killing the process. Must run before FCGX_Init(), which
// otherwise installs its own SIGPIPE handler. Returns false (and logs) when
// sigaction fails.
bool ignore_sigpipe() noexcept;

// SIGTERM and SIGINT each write one byte into a private non-blocking pipe
// and do nothing else (SA_RESTART). Returns the read end, which stays
// readable from the first signal on; -1 (logged) on failure. Calling it
// again returns the same fd.
int install_stop_signals() noexcept;

// The read end returned by install_stop_signals(), or -1 before it.
int stop_signal_fd() noexcept;

// The number of the last stop signal received (0: none). Async-signal-safe
// to read.
int last_stop_signal() noexcept;

}  // namespace invsys::fcgi
