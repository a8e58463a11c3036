// The worker pool the master keeps: generations of workers, each worker in
// a seat, forking into a seat and restarting a seat after its worker died,
// with the back-offs that keep a crash loop or a failing fork() from
// spinning.
//
// Words: a *generation* is the workers started from one configuration (a
// reload starts the next one); a *seat* is a worker's position within its
// generation, 0 ≤ seat < workers, shown in logs as "worker <seat + 1>"; an
// *entry* is the row of the generation's scoreboard a worker process
// reports in (a retiring worker keeps its entry while its successor in the
// same seat takes another).
//
// The pool decides nothing about the master's state (reload, stop): the
// master asks it to spawn, restart or forget, and reads it.
#pragma once

#include <chrono>
#include <invsys/config.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "children.hpp"
#include "scoreboard.hpp"

namespace invsys::fcgi {

// How often the master looks at the pool (scoreboards, timers); also the
// longest it sleeps, and the retry delay of a seat that waits for a free
// scoreboard entry.
inline constexpr std::chrono::milliseconds tick{250};
// Restart back-off for workers that die young.
inline constexpr std::chrono::milliseconds first_backoff{100};
inline constexpr std::chrono::milliseconds max_backoff{5000};

// "1.5 s", for log lines.
std::string seconds_text(steady::duration d);

// The fork back-off after `previous` (0: none yet): 250 ms, doubling, at
// most 30 s. fork() failing (EAGAIN: a process or memory limit) is the
// machine's state, not a seat's: while it lasts no seat is restarted.
std::chrono::milliseconds next_fork_backoff(std::chrono::milliseconds previous);

struct seat_state {
    pid_t pid = -1;  // the worker holding it, -1: none
    std::optional<steady::time_point> restart_at;
    std::chrono::milliseconds backoff = first_backoff;
    // Its worker died before the pool ever served: restarted once it does.
    bool failed_at_start = false;
};

// The workers started from one configuration.
struct generation {
    unsigned number = 0;
    invsys::config cfg;
    scoreboard board;
    std::vector<bool> entry_used;   // scoreboard entries held by live workers
    std::vector<seat_state> seats;  // seats[seat]
};

enum class spawn_result { started, no_free_entry, failed };

// The descriptors every worker is launched with; all owned by the master.
struct pool_fds {
    int listen_fd = -1;
    int notify_write = -1;  // the master's wake-up pipe, written by workers
    int notify_read = -1;   // its read end, closed in every worker
};

class pool {
  public:
    explicit pool(children& workers) : children_(workers) {}

    void set_fds(const pool_fds& fds) noexcept { fds_ = fds; }

    // Some worker got ready, so the database was opened and migrated: the
    // workers started from now on may start while it does not answer.
    void set_database_migrated() noexcept { database_migrated_ = true; }

    // A new generation for `cfg` (its scoreboard mapped, its seats empty);
    // nullptr when the scoreboard cannot be mapped (logged).
    generation* create_generation(const invsys::config& cfg);
    generation* find(unsigned number) noexcept;

    // The generation that serves, and the one a reload is starting (0 /
    // nullptr: none).
    unsigned current_number() const noexcept { return current_; }
    unsigned next_number() const noexcept { return next_; }
    generation* current() noexcept { return find(current_); }
    generation* next() noexcept { return find(next_); }
    void make_current(const generation& g) noexcept { current_ = g.number; }
    void make_next(const generation& g) noexcept { next_ = g.number; }
    // The next generation serves now; the old current one is left to retire.
    void promote_next() noexcept;
    void drop_next() noexcept { next_ = 0; }

    // Forks a worker into `seat` of `g`. A failed fork starts (or doubles)
    // the fork back-off, logged once per attempt.
    spawn_result spawn(generation& g, unsigned seat);
    void schedule_restart(generation& g, unsigned seat, steady::duration delay);
    // The first start of `seat` failed: when to try it again (at least
    // first_backoff, and not before the fork back-off ends).
    steady::duration first_retry_delay() const;
    // The seat's young-death delay, doubling it for the next time.
    steady::duration young_death_delay(seat_state& s);
    void cancel_restarts(generation& g) noexcept;
    void cancel_all_restarts() noexcept;

    // `w` (of `g`) has been reaped: frees its scoreboard entry and its seat
    // if it still held it. True when it did hold its seat.
    bool vacate(generation& g, const worker_process& w) noexcept;
    // Schedules the restart of `w`'s seat after it died (killed, recycled
    // unseen, or died on its own: the young-death back-off), logged.
    void restart_after_exit(generation& g, const worker_process& w, const child_exit& e);
    // The pool serves for the first time: seats whose worker failed to
    // start get their restart now.
    void restart_failed_at_start(generation& g);
    // Every seat of `g` holds a worker that is ready.
    bool all_ready(const generation& g) const;

    // Starts the seats whose restart is due (of the current and the next
    // generation).
    void run_restarts(steady::time_point now);
    // The earliest due restart before `until`, or `until`.
    steady::time_point next_restart(steady::time_point until) const;
    // Drops generations that neither serve nor start nor have a worker left.
    void forget_idle_generations();
    // The longest shutdown_timeout_s of any generation.
    unsigned longest_shutdown_timeout_s() const noexcept;

  private:
    void on_fork_failed();

    children& children_;
    pool_fds fds_;
    bool database_migrated_ = false;
    std::map<unsigned, std::unique_ptr<generation>> generations_;
    unsigned last_generation_ = 0;
    unsigned current_ = 0;
    unsigned next_ = 0;
    // fork() failing: no worker is started before fork_retry_at_.
    std::chrono::milliseconds fork_backoff_{0};
    steady::time_point fork_retry_at_;
};

}  // namespace invsys::fcgi
