// The pool's master process, on the model of php-fpm's process manager: it
// binds the FastCGI socket once, forks the workers and keeps them running,
// and never constructs the service nor loads a plugin itself. The workers
// themselves — generations, seats, spawning, restarts and their back-offs —
// are the pool's (pool.hpp); the master runs the state machine around it.
//
// States, every change logged (`master: state NORMAL -> RELOADING (SIGHUP)`)
// and made by one function, which refuses what its table does not allow (a
// stop overrides a reload; only the kill follows a stop):
//   NORMAL       the current generation serves. A worker that dies is
//                replaced, after a back-off when workers die young (100 ms
//                doubling to 5 s; reset once one lives 10 s); one that
//                recycles itself (max_requests) is replaced at once; one
//                whose request's handler runs longer than request_timeout_s
//                is killed, with a log line naming the request, and
//                replaced. A failing fork() holds every restart back for
//                250 ms doubling to 30 s (one log line per attempt).
//   RELOADING    SIGHUP: the config file is read again and a check child
//                (`invsys-fcgi --check`) loads it with the plugins. If that
//                fails, the running workers are kept. If it passes, a new
//                generation of workers starts, and once all of them serve,
//                the old workers are told to finish their requests and exit.
//                A SIGHUP meanwhile is queued: one more reload follows.
//   FINISHING    SIGTERM, SIGQUIT or SIGINT: the socket is closed to new
//                connections, every worker finishes its requests (the
//                connections already queued included) and exits; at most
//                shutdown_timeout_s + 5 s.
//   TERMINATING  the workers still running then get SIGKILL.
// Workers never outlive the master (PR_SET_PDEATHSIG).
#pragma once

#include <invsys/config.hpp>
#include <string>

namespace invsys::fcgi {

// Runs the pool until it stops. `config_path` is read again on SIGHUP (the
// same INVSYS_* overrides apply; a changed `listen`, `socket_group` or
// `socket_mode` cannot be applied by a reload and is kept, with a warning).
// Returns the process's exit code: 0 after a graceful stop; 1 when workers
// had to be killed at the end, when no worker could start at all, or when
// the socket or the master's pipes could not be set up (logged).
int run_master(const invsys::config& cfg, const std::string& config_path);

}  // namespace invsys::fcgi
