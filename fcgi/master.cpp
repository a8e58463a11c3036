#include "master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <invsys/log.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "children.hpp"
#include "listen_socket.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

enum class state { normal, reloading, finishing, terminating };

const char* state_name(state s) noexcept {
    switch (s) {
        case state::normal:
            return "NORMAL";
        case state::reloading:
            return "RELOADING";
        case state::finishing:
            return "FINISHING";
        case state::terminating:
            return "TERMINATING";
    }
    return "?";
}

// How often the scoreboards are searched for stuck requests; also the
// longest the loop sleeps.
constexpr milliseconds tick = 250ms;
// Restart back-off for workers that die young.
constexpr milliseconds first_backoff = 100ms;
constexpr milliseconds max_backoff = 5s;
constexpr auto young = 1s;     // died sooner than this after its start: back off
// fork() failing (EAGAIN: a process or memory limit) is the machine's
// state, not a seat's: every restart waits, 250 ms doubling to 30 s, one
// log line per step, until a fork succeeds again.
constexpr milliseconds first_fork_backoff = 250ms;
constexpr milliseconds max_fork_backoff = 30s;
constexpr auto settled = 10s;  // lived this long: the back-off starts over
// Reload: the check child, then the new generation becoming ready.
constexpr auto check_timeout = 30s;
constexpr auto ready_timeout = 30s;
// Beyond shutdown_timeout_s, before a worker told to stop is killed (it
// gives up by itself at shutdown_timeout_s + 2 s).
constexpr auto stop_grace = 5s;
// After SIGKILL, how long the master waits to reap before exiting anyway.
constexpr auto reap_grace = 5s;

std::string seconds_text(steady::duration d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(d).count());
    return text;
}

std::string signal_text(int signo) {
    const char* abbreviation = ::sigabbrev_np(signo);
    return abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(signo);
}

// "exit 1" / "signal 9", for the check child.
std::string check_outcome(const child_exit& e) {
    std::string text = e.describe();
    if (text.rfind("code ", 0) == 0) text.replace(0, 4, "exit");
    return text;
}

milliseconds next_fork_backoff(milliseconds previous) {
    return previous < first_fork_backoff ? first_fork_backoff
                                         : std::min(2 * previous, max_fork_backoff);
}

enum class spawn_result { started, no_free_entry, failed };

struct seat {
    pid_t pid = -1;  // the worker holding it, -1: none
    std::optional<steady::time_point> restart_at;
    milliseconds backoff = first_backoff;
    // Its worker died before the pool ever served: restarted once it does.
    bool failed_at_start = false;
};

// The workers started from one configuration.
struct generation {
    unsigned number = 0;
    invsys::config cfg;
    scoreboard board;
    std::vector<bool> entry_used;  // scoreboard entries held by live workers
    std::vector<seat> seats;       // seats[k] is "worker k + 1"
};

class master {
  public:
    master(const invsys::config& cfg, std::string config_path)
        : initial_cfg_(cfg), config_path_(std::move(config_path)) {}
    ~master();
    int run();

  private:
    bool set_up();
    void transition(state next, const std::string& why);
    bool stopping() const noexcept {
        return state_ == state::finishing || state_ == state::terminating;
    }

    generation* create_generation(const invsys::config& cfg);
    generation* find_generation(unsigned number) noexcept;
    spawn_result spawn_into(generation& g, unsigned index);
    void on_fork_failed();
    void schedule_restart(generation& g, unsigned index, steady::duration delay);
    steady::duration young_death_delay(seat& s);
    void forget_idle_generations();

    void wait_for_events();
    void handle_signals();
    void handle_exits();
    void on_worker_exit(worker_process& w, const child_exit& e);
    void on_check_exit(const child_exit& e);
    void look_at_scoreboards(bool search_stuck);
    void on_pool_up(generation& g);
    void on_recycling(worker_process& w, generation& g);
    void run_timers();

    void begin_reload();
    void refuse_reload(const std::string& why);
    void start_next_generation();
    void finish_reload();
    void abort_reload(const std::string& why);
    void after_reload();

    void begin_finishing(const std::string& why);
    void begin_terminating(const std::string& why);

    const invsys::config initial_cfg_;
    const std::string config_path_;

    state state_ = state::normal;
    listen_socket socket_;
    int signal_fd_ = -1;
    int notify_read_ = -1;  // workers write a byte when their phase changes
    int notify_write_ = -1;

    children children_;
    std::map<unsigned, std::unique_ptr<generation>> generations_;
    unsigned last_generation_ = 0;
    unsigned current_ = 0;  // the generation that serves
    unsigned next_ = 0;     // the generation a reload is starting (0: none)
    bool pool_up_ = false;  // some worker of the first generation got ready

    // Reload.
    bool reload_queued_ = false;
    std::optional<invsys::config> pending_cfg_;
    pid_t check_pid_ = -1;
    bool check_abandoned_ = false;  // killed or no longer wanted: its exit is ignored
    steady::time_point check_deadline_;
    steady::time_point next_deadline_;

    // Stop.
    steady::time_point finish_started_;
    steady::time_point finish_deadline_;
    steady::time_point terminate_deadline_;
    bool had_to_kill_ = false;
    bool startup_failed_ = false;
    bool give_up_ = false;

    steady::time_point last_stuck_search_;

    // fork() failing: no worker is started before fork_retry_at_.
    milliseconds fork_backoff_{0};
    steady::time_point fork_retry_at_;
};

master::~master() {
    for (const int fd : {signal_fd_, notify_read_, notify_write_})
        if (fd >= 0) ::close(fd);
    close_listen_socket(socket_);
}

bool master::set_up() {
    if (!ignore_sigpipe()) return false;
    signal_fd_ = install_master_signals();
    if (signal_fd_ < 0) return false;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("master: pipe2 failed for the wake-up pipe: " + errno_text(errno));
        return false;
    }
    notify_read_ = fds[0];
    notify_write_ = fds[1];
    socket_ = open_listen_socket(initial_cfg_);
    return socket_.fd >= 0;
}

void master::transition(state next, const std::string& why) {
    log_info(std::string("master: state ") + state_name(state_) + " -> " + state_name(next) + " (" +
             why + ")");
    state_ = next;
}

generation* master::create_generation(const invsys::config& cfg) {
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

generation* master::find_generation(unsigned number) noexcept {
    const auto it = generations_.find(number);
    return it == generations_.end() ? nullptr : it->second.get();
}

spawn_result master::spawn_into(generation& g, unsigned index) {
    const auto free_entry = std::find(g.entry_used.begin(), g.entry_used.end(), false);
    // Recycled workers still finishing.
    if (free_entry == g.entry_used.end()) return spawn_result::no_free_entry;
    worker_launch launch;
    launch.cfg = &g.cfg;
    launch.listen_fd = socket_.fd;
    launch.board = &g.board;
    launch.notify_fd = notify_write_;
    launch.close_fds = {notify_read_};
    const auto entry = static_cast<unsigned>(free_entry - g.entry_used.begin());
    const worker_process* w = children_.spawn_worker(launch, g.number, index + 1, entry);
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
    g.seats[index].pid = w->pid;
    g.seats[index].restart_at.reset();
    return spawn_result::started;
}

void master::on_fork_failed() {
    fork_backoff_ = next_fork_backoff(fork_backoff_);
    fork_retry_at_ = steady::now() + fork_backoff_;
    log_warn("master: starting workers failed (see the line above); backing off: next attempt in " +
             seconds_text(fork_backoff_) + " (doubling up to " + seconds_text(max_fork_backoff) +
             ")");
}

void master::schedule_restart(generation& g, unsigned index, steady::duration delay) {
    g.seats[index].restart_at = steady::now() + delay;
}

steady::duration master::young_death_delay(seat& s) {
    const milliseconds delay = s.backoff;
    s.backoff = std::min(2 * s.backoff, max_backoff);
    return delay;
}

void master::forget_idle_generations() {
    for (auto it = generations_.begin(); it != generations_.end();) {
        const unsigned number = it->first;
        const bool in_use =
            number == current_ || number == next_ ||
            std::any_of(children_.all().begin(), children_.all().end(),
                        [&](const auto& p) { return p.second.generation == number; });
        it = in_use ? std::next(it) : generations_.erase(it);
    }
}

void master::wait_for_events() {
    auto wake = steady::now() + tick;
    if (!stopping())
        for (const unsigned number : {current_, next_})
            if (generation* g = find_generation(number))
                for (const seat& s : g->seats)
                    if (s.restart_at) wake = std::min(wake, *s.restart_at);
    const auto left = std::chrono::ceil<milliseconds>(wake - steady::now());
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {notify_read_, POLLIN, 0}};
    const int rc = ::poll(fds, 2, static_cast<int>(std::max<long long>(0, left.count())));
    if (rc < 0 && errno != EINTR) {
        log_error("master: poll failed: " + errno_text(errno));
        ::poll(nullptr, 0, static_cast<int>(tick.count()));  // do not spin
    }
    if (rc > 0 && fds[1].revents != 0) {
        char buffer[256];
        for (int i = 0; i < 64 && ::read(notify_read_, buffer, sizeof buffer) > 0; ++i) {
        }
    }
}

void master::handle_signals() {
    const pending_signals pending = take_pending_signals();
    if (pending.stop != 0) begin_finishing(signal_text(pending.stop));
    if (pending.reload) {
        if (state_ == state::normal) {
            begin_reload();
        } else if (state_ == state::reloading) {
            if (!reload_queued_)
                log_info("master: SIGHUP during a reload: queued (one more reload after this one)");
            reload_queued_ = true;
        } else {
            log_info("master: SIGHUP ignored: the pool is stopping");
        }
    }
    // SIGCHLD needs nothing here: every turn of the loop reaps.
}

void master::handle_exits() {
    for (const child_exit& e : reap_children()) {
        if (e.pid == check_pid_) {
            on_check_exit(e);
            continue;
        }
        if (worker_process* w = children_.find(e.pid)) {
            on_worker_exit(*w, e);
            children_.erase(e.pid);
        }
    }
    forget_idle_generations();
}

void master::on_worker_exit(worker_process& w, const child_exit& e) {
    log_info("master: worker pid " + std::to_string(w.pid) + " exited (" + e.describe() + ")");
    generation* g = find_generation(w.generation);
    if (g == nullptr) return;
    // It may have got ready (and died) between two looks at the board.
    if (!w.ready && g->board.phase(w.entry) != worker_phase::starting) {
        w.ready = true;
        if (!pool_up_ && g->number == current_) on_pool_up(*g);
    }
    g->entry_used[w.entry] = false;
    const unsigned index = w.number - 1;
    const bool held_seat = index < g->seats.size() && g->seats[index].pid == w.pid;
    if (held_seat) g->seats[index].pid = -1;
    // Told to stop or recycled: its seat has a successor already (or one
    // waiting for this very scoreboard entry).
    if (stopping() || w.retiring || !held_seat) return;
    seat& s = g->seats[index];
    const std::string who = "worker " + std::to_string(w.number);

    if (g->number == next_) {
        abort_reload(who + " of generation " + std::to_string(g->number) + " (pid " +
                     std::to_string(w.pid) + ") exited (" + e.describe() + ") " +
                     (w.ready ? "before the reload was done" : "before it was ready"));
        return;
    }
    if (g->number != current_) return;

    if (!pool_up_ && !w.ready) {
        s.failed_at_start = true;
        const bool none_left = std::all_of(g->seats.begin(), g->seats.end(), [](const seat& x) {
            return x.pid < 0 && x.failed_at_start;
        });
        if (none_left) {
            log_error("master: no worker could start (see the lines above)");
            startup_failed_ = true;
            begin_finishing("no worker could start");
        }
        return;
    }

    const auto lived = steady::now() - w.started;
    if (!w.killed_for.empty()) {
        log_info("master: restarting " + who + " in 0.0 s (killed for " + w.killed_for + ")");
        schedule_restart(*g, index, 0s);
    } else if (e.success() && g->board.phase(w.entry) == worker_phase::recycling) {
        // It recycled and exited before the master saw it recycling.
        log_info("master: " + who + " (pid " + std::to_string(w.pid) + ") recycled after " +
                 std::to_string(g->board.requests(w.entry)) + " requests");
        schedule_restart(*g, index, 0s);
    } else {
        steady::duration delay = 0s;
        if (!w.ready || lived < young)
            delay = young_death_delay(s);
        else if (lived >= settled)
            s.backoff = first_backoff;
        log_info("master: restarting " + who + " in " + seconds_text(delay) + " (it lived " +
                 seconds_text(lived) + (w.ready ? "" : ", never ready") + ")");
        schedule_restart(*g, index, delay);
    }
}

void master::on_check_exit(const child_exit& e) {
    check_pid_ = -1;
    log_info("master: check pid " + std::to_string(e.pid) + " exited (" + e.describe() + ")");
    if (check_abandoned_) {
        check_abandoned_ = false;
        return;
    }
    if (state_ != state::reloading) return;
    if (!e.success()) {
        refuse_reload("check failed (" + check_outcome(e) + ")");
        return;
    }
    start_next_generation();
}

void master::look_at_scoreboards(bool search_stuck) {
    const std::uint64_t now_ns = monotonic_ns();
    for (auto& [pid, w] : children_.all()) {
        generation* g = find_generation(w.generation);
        if (g == nullptr) continue;
        const worker_phase phase = g->board.phase(w.entry);
        if (!w.ready && phase != worker_phase::starting) {
            w.ready = true;
            if (!pool_up_ && g->number == current_) on_pool_up(*g);
        }
        if (phase == worker_phase::recycling && !w.retiring && !stopping()) on_recycling(w, *g);

        if (!search_stuck || !w.killed_for.empty()) continue;
        const std::uint64_t limit_ns = std::uint64_t{g->cfg.request_timeout_s} * 1'000'000'000u;
        const auto oldest = g->board.oldest_request(w.entry, now_ns);
        if (!oldest || oldest->age_ns <= limit_ns) continue;
        log_error("master: worker pid " + std::to_string(w.pid) + " (slot " +
                  std::to_string(oldest->thread) + ") stuck on \"" + oldest->label + "\" for " +
                  seconds_text(std::chrono::nanoseconds(oldest->age_ns)) + "; killing it");
        children_.kill(w, "a stuck request");
    }
    if (next_ != 0 && state_ == state::reloading) {
        generation* g = find_generation(next_);
        const bool all_ready =
            g != nullptr && std::all_of(g->seats.begin(), g->seats.end(), [&](const seat& s) {
                const worker_process* w = children_.find(s.pid);
                return w != nullptr && w->ready;
            });
        if (all_ready) finish_reload();
    }
}

void master::on_pool_up(generation& g) {
    pool_up_ = true;
    for (unsigned i = 0; i < g.seats.size(); ++i) {
        seat& s = g.seats[i];
        if (!s.failed_at_start || s.pid >= 0) continue;
        s.failed_at_start = false;
        const auto delay = young_death_delay(s);
        log_info("master: restarting worker " + std::to_string(i + 1) + " in " +
                 seconds_text(delay) + " (it failed to start)");
        schedule_restart(g, i, delay);
    }
}

void master::on_recycling(worker_process& w, generation& g) {
    log_info("master: worker " + std::to_string(w.number) + " (pid " + std::to_string(w.pid) +
             ") recycled after " + std::to_string(g.board.requests(w.entry)) +
             " requests; starting its successor");
    children_.tell_to_stop(w, false);
    w.kill_at = steady::now() + std::chrono::seconds(g.cfg.shutdown_timeout_s) + stop_grace;
    const unsigned index = w.number - 1;
    if (g.number != current_ && g.number != next_) return;
    if (index < g.seats.size() && g.seats[index].pid == w.pid) {
        g.seats[index].pid = -1;
        schedule_restart(g, index, 0s);
    }
}

void master::run_timers() {
    const auto now = steady::now();
    if (!stopping()) {
        for (const unsigned number : {current_, next_}) {
            generation* g = find_generation(number);
            if (g == nullptr) continue;
            for (unsigned i = 0; i < g->seats.size(); ++i) {
                seat& s = g->seats[i];
                if (!s.restart_at || *s.restart_at > now) continue;
                if (now < fork_retry_at_) {
                    s.restart_at = fork_retry_at_;  // backing off from a failed fork
                    continue;
                }
                switch (spawn_into(*g, i)) {
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
    for (auto& [pid, w] : children_.all()) {
        if (!w.kill_at || *w.kill_at > now || !w.killed_for.empty()) continue;
        log_warn("master: worker pid " + std::to_string(pid) + " (generation " +
                 std::to_string(w.generation) +
                 ") still running 5 s past its shutdown timeout; killing it");
        children_.kill(w, "overrunning its shutdown timeout");
    }
    if (check_pid_ >= 0 && !check_abandoned_ && now >= check_deadline_) {
        ::kill(check_pid_, SIGKILL);
        check_abandoned_ = true;
        refuse_reload("check timed out after " + seconds_text(check_timeout));
    }
    if (next_ != 0 && state_ == state::reloading && now >= next_deadline_)
        abort_reload("generation " + std::to_string(next_) + " was not ready within " +
                     seconds_text(ready_timeout));
    if (state_ == state::finishing && now >= finish_deadline_)
        begin_terminating(std::to_string(children_.size()) + " workers still running after " +
                          seconds_text(now - finish_started_));
    if (state_ == state::terminating && now >= terminate_deadline_) {
        log_error("master: " + std::to_string(children_.size()) + " workers not reaped " +
                  seconds_text(reap_grace) + " after SIGKILL; exiting anyway");
        give_up_ = true;
    }
}

void master::begin_reload() {
    transition(state::reloading, "SIGHUP");
    reload_queued_ = false;
    invsys::config fresh;
    try {
        fresh = invsys::config::load(config_path_);
    } catch (const std::exception& e) {
        refuse_reload(std::string("configuration error: ") + e.what());
        return;
    }
    const generation* serving = find_generation(current_);
    const invsys::config& running = serving ? serving->cfg : initial_cfg_;
    auto keep = [&](const char* key, auto& fresh_value, const auto& running_value, auto text) {
        if (fresh_value == running_value) return;
        log_warn(std::string("master: reload: ") + key + " changed from " + text(running_value) +
                 " to " + text(fresh_value) +
                 ", which a reload cannot apply (the socket stays); keeping " +
                 text(running_value) + " until a restart");
        fresh_value = running_value;
    };
    const auto as_is = [](const std::string& v) { return v.empty() ? std::string("''") : v; };
    const auto octal = [](unsigned v) {
        char text[16];
        std::snprintf(text, sizeof text, "0%o", v);
        return std::string(text);
    };
    keep("listen", fresh.listen, running.listen, as_is);
    keep("socket_group", fresh.socket_group, running.socket_group, as_is);
    keep("socket_mode", fresh.socket_mode, running.socket_mode, octal);

    pending_cfg_ = fresh;
    check_pid_ = spawn_check(config_path_);
    if (check_pid_ < 0) {
        refuse_reload("the check could not be started");
        return;
    }
    check_abandoned_ = false;
    check_deadline_ = steady::now() + check_timeout;
    log_info("master: reload: checking the configuration and the plugins (check pid " +
             std::to_string(check_pid_) + ")");
}

void master::refuse_reload(const std::string& why) {
    log_error("master: reload refused: " + why + "; keeping the running workers");
    pending_cfg_.reset();
    transition(state::normal, "reload refused");
    after_reload();
}

void master::start_next_generation() {
    generation* g = create_generation(*pending_cfg_);
    pending_cfg_.reset();
    if (g == nullptr) {
        refuse_reload("no scoreboard for a new generation");
        return;
    }
    log_info("master: reload: check passed; starting generation " + std::to_string(g->number) +
             " (" + std::to_string(g->seats.size()) + " workers x " +
             std::to_string(std::max(1u, g->cfg.threads)) + " threads)");
    next_ = g->number;
    next_deadline_ = steady::now() + ready_timeout;
    for (unsigned i = 0; i < g->seats.size(); ++i) {
        if (spawn_into(*g, i) != spawn_result::started) {
            abort_reload("worker " + std::to_string(i + 1) + " of generation " +
                         std::to_string(g->number) + " could not be started");
            return;
        }
    }
}

void master::finish_reload() {
    generation* old_generation = find_generation(current_);
    generation* new_generation = find_generation(next_);
    const auto now = steady::now();
    unsigned retiring = 0;
    for (auto& [pid, w] : children_.all()) {
        if (w.generation == next_ || w.retiring) continue;
        const generation* g = find_generation(w.generation);
        children_.tell_to_stop(w, false);
        w.kill_at = now + std::chrono::seconds(g ? g->cfg.shutdown_timeout_s : 0) + stop_grace;
        ++retiring;
    }
    if (old_generation != nullptr)
        for (seat& s : old_generation->seats) s.restart_at.reset();
    const unsigned old_number = current_;
    current_ = next_;
    next_ = 0;
    invsys::log_level level;
    if (new_generation != nullptr && invsys::parse_log_level(new_generation->cfg.log_level, level))
        invsys::set_log_level(level);
    log_info("master: reload done: generation " + std::to_string(current_) + " serves (" +
             std::to_string(new_generation ? new_generation->seats.size() : 0) + " workers); " +
             std::to_string(retiring) + " workers of generation " + std::to_string(old_number) +
             " finish their requests and exit");
    transition(state::normal, "reload done");
    forget_idle_generations();
    after_reload();
}

void master::abort_reload(const std::string& why) {
    generation* g = find_generation(next_);
    const auto now = steady::now();
    for (auto& [pid, w] : children_.all()) {
        if (w.generation != next_) continue;
        children_.tell_to_stop(w, false);
        w.kill_at = now + std::chrono::seconds(g ? g->cfg.shutdown_timeout_s : 0) + stop_grace;
    }
    if (g != nullptr)
        for (seat& s : g->seats) s.restart_at.reset();
    next_ = 0;
    log_error("master: reload failed: " + why + "; keeping the running workers");
    transition(state::normal, "reload failed");
    forget_idle_generations();
    after_reload();
}

void master::after_reload() {
    if (!reload_queued_ || state_ != state::normal) return;
    reload_queued_ = false;
    log_info("master: running the queued reload");
    begin_reload();
}

void master::begin_finishing(const std::string& why) {
    if (stopping()) {
        log_info("master: " + why + " ignored: already stopping");
        return;
    }
    transition(state::finishing, why);
    if (check_pid_ >= 0 && !check_abandoned_) {
        ::kill(check_pid_, SIGKILL);
        check_abandoned_ = true;
    }
    pending_cfg_.reset();
    reload_queued_ = false;
    // Closed to new connections first, so that once a worker has emptied
    // the queue no connection can arrive any more; connections already
    // queued are still accepted and answered.
    refuse_new_connections(socket_);
    unsigned longest = 0;
    for (auto& [number, g] : generations_) {
        for (seat& s : g->seats) s.restart_at.reset();
        longest = std::max(longest, g->cfg.shutdown_timeout_s);
    }
    for (auto& [pid, w] : children_.all()) children_.tell_to_stop(w, true);
    finish_started_ = steady::now();
    finish_deadline_ = finish_started_ + std::chrono::seconds(longest) + stop_grace;
    log_info("master: " + std::to_string(children_.size()) +
             " workers finish their requests and exit (at most " +
             seconds_text(std::chrono::seconds(longest) + stop_grace) + ")");
}

void master::begin_terminating(const std::string& why) {
    transition(state::terminating, why);
    for (auto& [pid, w] : children_.all()) {
        had_to_kill_ = true;
        log_warn("master: killing worker pid " + std::to_string(pid));
        children_.kill(w, "the stop deadline");
    }
    terminate_deadline_ = steady::now() + reap_grace;
}

int master::run() {
    if (!set_up()) return 1;
    const unsigned threads = std::max(1u, initial_cfg_.threads);
    log_info("master: state NORMAL (pid " + std::to_string(::getpid()) +
             "; listen=" + initial_cfg_.listen +
             " workers=" + std::to_string(std::max(1u, initial_cfg_.workers)) +
             " threads=" + std::to_string(threads) +
             " max_requests=" + std::to_string(initial_cfg_.max_requests) +
             " request_timeout_s=" + std::to_string(initial_cfg_.request_timeout_s) + ")");
    generation* first = create_generation(initial_cfg_);
    if (first == nullptr) return 1;
    current_ = first->number;
    for (unsigned i = 0; i < first->seats.size(); ++i)
        if (spawn_into(*first, i) != spawn_result::started)
            schedule_restart(*first, i, std::max<steady::duration>(first_backoff,
                                                                   fork_retry_at_ - steady::now()));

    last_stuck_search_ = steady::now();
    // The loop ends once the pool has stopped; every pass is bounded.
    for (;;) {
        wait_for_events();
        handle_signals();
        handle_exits();
        const auto now = steady::now();
        const bool search_stuck = now - last_stuck_search_ >= tick - 10ms;
        if (search_stuck) last_stuck_search_ = now;
        look_at_scoreboards(search_stuck);
        run_timers();
        if (give_up_) break;
        if (stopping() && children_.empty() && check_pid_ < 0) break;
    }
    const int code = (had_to_kill_ || startup_failed_ || give_up_) ? 1 : 0;
    close_listen_socket(socket_);
    log_info("master: stopped (exit code " + std::to_string(code) + ")");
    return code;
}

}  // namespace

int run_master(const invsys::config& cfg, const std::string& config_path) {
    master m(cfg, config_path);
    return m.run();
}

}  // namespace invsys::fcgi
