#include "pool.hpp"

#include <algorithm>
#include <cstdio>
#include <invsys/log.hpp>
#include <string>

namespace invsys::fcgi {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

constexpr auto young = 1s;     // died sooner than this after its start: back off
constexpr auto settled = 10s;  // lived this long: the back-off starts over
constexpr milliseconds first_fork_backoff = 250ms;
constexpr milliseconds max_fork_backoff = 30s;

std::string seat_name(unsigned seat) { return "worker " + std::to_string(seat + 1); }

}  // namespace

std::string seconds_text(steady::duration d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(d).count());
    return text;
}

milliseconds next_fork_backoff(milliseconds previous) {
    return previous < first_fork_backoff ? first_fork_backoff
                                         : std::min(2 * previous, max_fork_backoff);
}

generation* pool::create_generation(const invsys::config& cfg) {
    auto g = std::make_unique<generation>();
    g->cfg = cfg;
    const unsigned workers = std::max(1u, cfg.workers);
    // Twice the workers: a recycled worker keeps its entry while it
    // finishes, and its successor needs one meanwhile.
    g->board = scoreboard::create(2 * workers, std::max(1u, cfg.threads));
    if (!g->board.valid()) return nullptr;
    g->number = ++last_generation_;
    g->entry_used.assign(g->board.entries(), false);
    g->seats.resize(workers);
    generation* raw = g.get();
    generations_[raw->number] = std::move(g);
    return raw;
}

generation* pool::find(unsigned number) noexcept {
    const auto it = generations_.find(number);
    return it == generations_.end() ? nullptr : it->second.get();
}

void pool::promote_next() noexcept {
    current_ = next_;
    next_ = 0;
}

spawn_result pool::spawn(generation& g, unsigned seat) {
    const auto free_entry = std::find(g.entry_used.begin(), g.entry_used.end(), false);
    // Recycled workers still finishing.
    if (free_entry == g.entry_used.end()) return spawn_result::no_free_entry;
    worker_launch launch;
    launch.cfg = &g.cfg;
    launch.listen_fd = fds_.listen_fd;
    launch.board = &g.board;
    launch.notify_fd = fds_.notify_write;
    launch.close_fds = {fds_.notify_read};
    launch.database_migrated_before = database_migrated_;
    const auto entry = static_cast<unsigned>(free_entry - g.entry_used.begin());
    const worker_process* w = children_.spawn_worker(launch, g.number, seat, entry);
    if (w == nullptr) {
        on_fork_failed();
        return spawn_result::failed;
    }
    if (fork_backoff_.count() != 0) {
        log_info("master: fork works again (after backing off " + seconds_text(fork_backoff_) +
                 ")");
        fork_backoff_ = 0ms;
    }
    g.entry_used[entry] = true;
    g.seats[seat].pid = w->pid;
    g.seats[seat].restart_at.reset();
    return spawn_result::started;
}

void pool::on_fork_failed() {
    fork_backoff_ = next_fork_backoff(fork_backoff_);
    fork_retry_at_ = steady::now() + fork_backoff_;
    log_warn("master: starting workers failed (see the line above); backing off: next attempt in " +
             seconds_text(fork_backoff_) + " (doubling up to " + seconds_text(max_fork_backoff) +
             ")");
}

void pool::schedule_restart(generation& g, unsigned seat, steady::duration delay) {
    g.seats[seat].restart_at = steady::now() + delay;
}

steady::duration pool::first_retry_delay() const {
    return std::max<steady::duration>(first_backoff, fork_retry_at_ - steady::now());
}

steady::duration pool::young_death_delay(seat_state& s) {
    const milliseconds delay = s.backoff;
    s.backoff = std::min(2 * s.backoff, max_backoff);
    return delay;
}

void pool::cancel_restarts(generation& g) noexcept {
    for (seat_state& s : g.seats) s.restart_at.reset();
}

void pool::cancel_all_restarts() noexcept {
    for (auto& [number, g] : generations_) cancel_restarts(*g);
}

bool pool::vacate(generation& g, const worker_process& w) noexcept {
    g.entry_used[w.entry] = false;
    const bool held_seat = w.seat < g.seats.size() && g.seats[w.seat].pid == w.pid;
    if (held_seat) g.seats[w.seat].pid = -1;
    return held_seat;
}

void pool::restart_after_exit(generation& g, const worker_process& w, const child_exit& e) {
    seat_state& s = g.seats[w.seat];
    const std::string who = seat_name(w.seat);
    const auto lived = steady::now() - w.started;
    if (!w.killed_for.empty()) {
        log_info("master: restarting " + who + " in 0.0 s (killed for " + w.killed_for + ")");
        schedule_restart(g, w.seat, 0s);
    } else if (e.success() && g.board.phase(w.entry) == worker_phase::recycling) {
        // It recycled and exited before the master saw it recycling.
        log_info("master: " + who + " (pid " + std::to_string(w.pid) + ") recycled after " +
                 std::to_string(g.board.requests(w.entry)) + " requests");
        schedule_restart(g, w.seat, 0s);
    } else {
        steady::duration delay = 0s;
        if (!w.ready || lived < young)
            delay = young_death_delay(s);
        else if (lived >= settled)
            s.backoff = first_backoff;
        log_info("master: restarting " + who + " in " + seconds_text(delay) + " (it lived " +
                 seconds_text(lived) + (w.ready ? "" : ", never ready") + ")");
        schedule_restart(g, w.seat, delay);
    }
}

void pool::restart_failed_at_start(generation& g) {
    for (unsigned seat = 0; seat < g.seats.size(); ++seat) {
        seat_state& s = g.seats[seat];
        if (!s.failed_at_start || s.pid >= 0) continue;
        s.failed_at_start = false;
        const auto delay = young_death_delay(s);
        log_info("master: restarting " + seat_name(seat) + " in " + seconds_text(delay) +
                 " (it failed to start)");
        schedule_restart(g, seat, delay);
    }
}

bool pool::all_ready(const generation& g) const {
    return std::all_of(g.seats.begin(), g.seats.end(), [&](const seat_state& s) {
        const worker_process* w = children_.find(s.pid);
        return w != nullptr && w->ready;
    });
}

void pool::run_restarts(steady::time_point now) {
    for (const unsigned number : {current_, next_}) {
        generation* g = find(number);
        if (g == nullptr) continue;
        for (unsigned seat = 0; seat < g->seats.size(); ++seat) {
            seat_state& s = g->seats[seat];
            if (!s.restart_at || *s.restart_at > now) continue;
            if (now < fork_retry_at_) {
                s.restart_at = fork_retry_at_;  // backing off from a failed fork
                continue;
            }
            switch (spawn(*g, seat)) {
                case spawn_result::started:
                    break;
                case spawn_result::no_free_entry:  // recycled workers finishing
                    s.restart_at = now + tick;
                    break;
                case spawn_result::failed:
                    s.restart_at = fork_retry_at_;
                    break;
            }
        }
    }
}

steady::time_point pool::next_restart(steady::time_point until) const {
    for (const unsigned number : {current_, next_}) {
        const auto it = generations_.find(number);
        if (it == generations_.end()) continue;
        for (const seat_state& s : it->second->seats)
            if (s.restart_at) until = std::min(until, *s.restart_at);
    }
    return until;
}

void pool::forget_idle_generations() {
    for (auto it = generations_.begin(); it != generations_.end();) {
        const unsigned number = it->first;
        const bool in_use =
            number == current_ || number == next_ ||
            std::any_of(children_.all().begin(), children_.all().end(),
                        [&](const auto& p) { return p.second.generation == number; });
        it = in_use ? std::next(it) : generations_.erase(it);
    }
}

unsigned pool::longest_shutdown_timeout_s() const noexcept {
    unsigned longest = 0;
    for (const auto& [number, g] : generations_)
        longest = std::max(longest, g->cfg.shutdown_timeout_s);
    return longest;
}

}  // namespace invsys::fcgi
