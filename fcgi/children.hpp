// The master's children: forking workers and the reload's check child,
// reaping them, and the table of the workers that are alive.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <invsys/config.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scoreboard.hpp"

namespace invsys::fcgi {

using steady = std::chrono::steady_clock;

// One worker process the master forked and has not reaped yet.
struct worker_process {
    pid_t pid = -1;
    unsigned generation = 0;
    unsigned seat = 0;   // its position in its generation (pool.hpp), 0-based
    unsigned entry = 0;  // its scoreboard entry
    steady::time_point started;
    // Write end of its stop pipe; -1 once the worker was told to stop.
    int stop_fd = -1;
    bool ready = false;
    // Told to stop, or recycling by itself: its seat is someone else's
    // now, and it is not replaced when it exits.
    bool retiring = false;
    // A retiring worker still running then is killed.
    std::optional<steady::time_point> kill_at;
    // Why the master sent it SIGKILL (empty: it did not).
    std::string killed_for;
};

// Why a worker is told to stop.
enum class stop_kind {
    retire,      // replaced (reload, recycling): the others go on serving
    final_stop,  // the pool stops: drain the socket's backlog too
};

// How a child ended.
struct child_exit {
    pid_t pid = -1;
    int status = 0;  // as waitpid reports it
    // "code 0", "signal 9".
    std::string describe() const;
    bool success() const noexcept;  // exited with code 0
};

// Every child that has ended (waitpid(-1, WNOHANG) until none is left).
std::vector<child_exit> reap_children();

// What a worker's child side needs; everything stays owned by the master.
struct worker_launch {
    const invsys::config* cfg = nullptr;
    int listen_fd = -1;
    scoreboard* board = nullptr;
    int notify_fd = -1;                     // write end of the master's wake-up pipe
    std::vector<int> close_fds;             // the master's own fds a worker must not hold
    bool database_migrated_before = false;  // worker_options' field of that name
};

class children {
  public:
    children() = default;
    children(const children&) = delete;
    children& operator=(const children&) = delete;
    ~children();  // closes the stop pipes still open (the workers stop)

    // Forks a worker into `seat` of `generation`, using scoreboard entry
    // `entry` (reset first). The child sets PR_SET_PDEATHSIG to SIGKILL,
    // takes the worker's signal dispositions, closes the master's fds and
    // the other workers' stop pipes, runs run_worker and _exits with its
    // code. Returns the new record, or nullptr when fork or pipe2 failed
    // (logged).
    worker_process* spawn_worker(const worker_launch& launch, unsigned generation, unsigned seat,
                                 unsigned entry);

    // Tells a worker to stop gracefully by closing its stop pipe. A
    // final_stop first writes a byte saying so: the worker then also drains
    // the listening socket's backlog (the master must have closed the
    // socket to new connections before); a retiring worker leaves the
    // backlog to the others. Marks it retiring; no-op when it was told
    // already.
    void tell_to_stop(worker_process& worker, stop_kind kind) noexcept;

    // SIGKILL, remembering why (for the log line of its exit).
    void kill(worker_process& worker, const std::string& reason) noexcept;

    worker_process* find(pid_t pid) noexcept;
    // Forgets a reaped worker (closing its stop pipe if still open).
    void erase(pid_t pid) noexcept;

    std::map<pid_t, worker_process>& all() noexcept { return workers_; }
    bool empty() const noexcept { return workers_.empty(); }
    std::size_t size() const noexcept { return workers_.size(); }

  private:
    std::map<pid_t, worker_process> workers_;
};

// fork + exec of this very binary (/proc/self/exe) as
// `invsys-fcgi --check [--config FILE]`, so that the check loads the plugin
// directory in a fresh process and the master stays plugin-free. The child
// gets default signal dispositions and PR_SET_PDEATHSIG(SIGKILL); it
// inherits stderr (its lines go to the same log). Returns its pid, -1 when
// fork failed (logged).
pid_t spawn_check(const std::string& config_path, const std::string& plugin_manifest);

}  // namespace invsys::fcgi
