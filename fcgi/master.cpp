#include "master.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <invsys/log.hpp>
#include <invsys/metrics.hpp>
#include <invsys/service.hpp>
#include <optional>
#include <string>

#include "children.hpp"
#include "listen_socket.hpp"
#include "pool.hpp"
#include "scoreboard.hpp"
#include "signals.hpp"
#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

enum class state { normal, reloading, finishing, terminating };
constexpr std::size_t state_count = 4;

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

// Which state may override which, as php-fpm's fpm_pctl has it: a reload
// ends back in NORMAL; a stop overrides NORMAL and a reload; only the kill
// follows a stop; nothing follows the kill. Rows: the state the master is
// in; columns: the state asked for (normal, reloading, finishing,
// terminating).
constexpr bool may_override[state_count][state_count] = {
    /* normal      */ {false, true, true, false},
    /* reloading   */ {true, false, true, false},
    /* finishing   */ {false, false, false, true},
    /* terminating */ {false, false, false, false},
};

// Reload: the check child, then the new generation becoming ready.
constexpr auto check_timeout = 30s;
constexpr auto ready_timeout = 30s;
// Beyond shutdown_timeout_s, before a worker told to stop is killed (it
// gives up by itself at shutdown_timeout_s + 2 s).
constexpr auto stop_grace = 5s;
// After SIGKILL, how long the master waits to reap before exiting anyway.
constexpr auto reap_grace = 5s;
// A look at the scoreboards for stuck requests is due once a tick has
// nearly passed: a wake-up a little early (poll rounds to milliseconds)
// must not skip a whole tick.
constexpr auto stuck_search_slack = 10ms;
// Bytes of the wake-up pipe read per turn: workers write one per phase
// change, so a few rounds empty it; what is left wakes the next turn.
constexpr int wake_reads_per_turn = 64;

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

class master {
  public:
    master(const invsys::config& cfg, std::string config_path)
        : initial_cfg_(cfg), config_path_(std::move(config_path)) {}
    ~master();
    int run();

  private:
    bool set_up();
    // The one way the state changes: refused (false, nothing logged) when
    // may_override says `next` cannot follow the current state.
    bool transition(state next, const std::string& why);
    bool stopping() const noexcept {
        return state_ == state::finishing || state_ == state::terminating;
    }

    void wait_for_events();
    void handle_signals();
    void handle_exits();
    void on_worker_exit(worker_process& w, const child_exit& e);
    void on_check_exit(const child_exit& e);
    void look_at_scoreboards(bool search_stuck);
    void on_pool_up(generation& g);
    void on_recycling(worker_process& w, generation& g);
    void run_timers();
    void retire(worker_process& w, const generation* g, steady::time_point now);

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
    pool pool_{children_};
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
    // The counters of GET /metrics, shared by every worker forked from here
    // on (and kept across their restarts and reloads). Without them the
    // pool still serves; each worker then counts only its own requests.
    void* counters = ::mmap(nullptr, metrics::shared_block_size(), PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counters == MAP_FAILED)
        log_warn("master: mmap failed for the metrics counters: " + errno_text(errno));
    else
        metrics::place_shared_metrics(counters);
    socket_ = open_listen_socket(initial_cfg_);
    pool_.set_fds({socket_.fd, notify_write_, notify_read_});
    return socket_.fd >= 0;
}

bool master::transition(state next, const std::string& why) {
    if (!may_override[static_cast<std::size_t>(state_)][static_cast<std::size_t>(next)])
        return false;
    log_info(std::string("master: state ") + state_name(state_) + " -> " + state_name(next) + " (" +
             why + ")");
    state_ = next;
    return true;
}

void master::wait_for_events() {
    auto wake = steady::now() + tick;
    if (!stopping()) wake = pool_.next_restart(wake);
    const auto left = std::chrono::ceil<milliseconds>(wake - steady::now());
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {notify_read_, POLLIN, 0}};
    const int rc = ::poll(fds, 2, static_cast<int>(std::max<long long>(0, left.count())));
    if (rc < 0 && errno != EINTR) {
        log_error("master: poll failed: " + errno_text(errno));
        ::poll(nullptr, 0, static_cast<int>(tick.count()));  // do not spin
    }
    if (rc > 0 && fds[1].revents != 0) {
        char buffer[256];
        for (int i = 0; i<wake_reads_per_turn&& ::read(notify_read_, buffer, sizeof buffer)> 0;
             ++i) {
        }
    }
}

void master::handle_signals() {
    const pending_signals pending = take_pending_signals();
    if (pending.stop != 0) begin_finishing(signal_text(pending.stop));
    if (pending.reload) {
        if (state_ == state::reloading) {
            if (!reload_queued_)
                log_info("master: SIGHUP during a reload: queued (one more reload after this one)");
            reload_queued_ = true;
        } else if (stopping()) {
            log_info("master: SIGHUP ignored: the pool is stopping");
        } else {
            begin_reload();
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
    pool_.forget_idle_generations();
}

void master::on_worker_exit(worker_process& w, const child_exit& e) {
    log_info("master: worker pid " + std::to_string(w.pid) + " exited (" + e.describe() + ")");
    metrics::forget_worker(w.pid);
    generation* g = pool_.find(w.generation);
    if (g == nullptr) return;
    // It may have got ready (and died) between two looks at the board.
    if (!w.ready && g->board.phase(w.entry) != worker_phase::starting) {
        w.ready = true;
        if (!pool_up_ && g->number == pool_.current_number()) on_pool_up(*g);
    }
    const bool held_seat = pool_.vacate(*g, w);
    // Told to stop or recycled: its seat has a successor already (or one
    // waiting for this very scoreboard entry).
    if (stopping() || w.retiring || !held_seat) return;
    const std::string who = "worker " + std::to_string(w.seat + 1);

    if (g->number == pool_.next_number()) {
        abort_reload(who + " of generation " + std::to_string(g->number) + " (pid " +
                     std::to_string(w.pid) + ") exited (" + e.describe() + ") " +
                     (w.ready ? "before the reload was done" : "before it was ready"));
        return;
    }
    if (g->number != pool_.current_number()) return;

    if (!pool_up_ && !w.ready) {
        g->seats[w.seat].failed_at_start = true;
        const bool none_left =
            std::all_of(g->seats.begin(), g->seats.end(),
                        [](const seat_state& x) { return x.pid < 0 && x.failed_at_start; });
        if (none_left) {
            log_error("master: no worker could start (see the lines above)");
            startup_failed_ = true;
            begin_finishing("no worker could start");
        }
        return;
    }
    if (e.success() && g->board.phase(w.entry) == worker_phase::recycling)
        metrics::count_worker_recycle();
    else
        metrics::count_worker_restart();
    pool_.restart_after_exit(*g, w, e);
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
        generation* g = pool_.find(w.generation);
        if (g == nullptr) continue;
        const worker_phase phase = g->board.phase(w.entry);
        if (!w.ready && phase != worker_phase::starting) {
            w.ready = true;
            if (!pool_up_ && g->number == pool_.current_number()) on_pool_up(*g);
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
    if (state_ == state::reloading) {
        const generation* g = pool_.next();
        if (g != nullptr && pool_.all_ready(*g)) finish_reload();
    }
}

void master::on_pool_up(generation& g) {
    pool_up_ = true;
    pool_.set_database_migrated();
    pool_.restart_failed_at_start(g);
}

void master::retire(worker_process& w, const generation* g, steady::time_point now) {
    children_.tell_to_stop(w, stop_kind::retire);
    w.kill_at = now + std::chrono::seconds(g ? g->cfg.shutdown_timeout_s : 0) + stop_grace;
}

void master::on_recycling(worker_process& w, generation& g) {
    log_info("master: worker " + std::to_string(w.seat + 1) + " (pid " + std::to_string(w.pid) +
             ") recycled after " + std::to_string(g.board.requests(w.entry)) +
             " requests; starting its successor");
    metrics::count_worker_recycle();
    retire(w, &g, steady::now());
    if (g.number != pool_.current_number() && g.number != pool_.next_number()) return;
    if (w.seat < g.seats.size() && g.seats[w.seat].pid == w.pid) {
        g.seats[w.seat].pid = -1;
        pool_.schedule_restart(g, w.seat, 0s);
    }
}

void master::run_timers() {
    const auto now = steady::now();
    unsigned ready = 0;
    for (const auto& [pid, w] : children_.all())
        if (w.ready && !w.retiring) ++ready;
    metrics::set_pool_workers(ready);
    if (!stopping()) pool_.run_restarts(now);
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
    if (pool_.next_number() != 0 && state_ == state::reloading && now >= next_deadline_)
        abort_reload("generation " + std::to_string(pool_.next_number()) +
                     " was not ready within " + seconds_text(ready_timeout));
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
    if (!transition(state::reloading, "SIGHUP")) return;
    reload_queued_ = false;
    invsys::config fresh;
    try {
        fresh = invsys::config::load(config_path_);
    } catch (const std::exception& e) {
        refuse_reload(std::string("configuration error: ") + e.what());
        return;
    }
    const generation* serving = pool_.current();
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

    // What this generation's check validates is what its workers load.
    try {
        fresh.plugin_manifest = invsys::service::list_plugins(fresh.plugin_dir);
    } catch (const std::exception& e) {
        refuse_reload(e.what());
        return;
    }
    pending_cfg_ = fresh;
    check_pid_ = spawn_check(config_path_, fresh.plugin_manifest);
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
    generation* g = pool_.create_generation(*pending_cfg_);
    pending_cfg_.reset();
    if (g == nullptr) {
        refuse_reload("no scoreboard for a new generation");
        return;
    }
    log_info("master: reload: check passed; starting generation " + std::to_string(g->number) +
             " (" + std::to_string(g->seats.size()) + " workers x " +
             std::to_string(std::max(1u, g->cfg.threads)) + " threads)");
    pool_.make_next(*g);
    next_deadline_ = steady::now() + ready_timeout;
    for (unsigned seat = 0; seat < g->seats.size(); ++seat) {
        if (pool_.spawn(*g, seat) != spawn_result::started) {
            abort_reload("worker " + std::to_string(seat + 1) + " of generation " +
                         std::to_string(g->number) + " could not be started");
            return;
        }
    }
}

void master::finish_reload() {
    generation* old_generation = pool_.current();
    generation* new_generation = pool_.next();
    const auto now = steady::now();
    unsigned retiring = 0;
    for (auto& [pid, w] : children_.all()) {
        if (w.generation == pool_.next_number() || w.retiring) continue;
        retire(w, pool_.find(w.generation), now);
        ++retiring;
    }
    if (old_generation != nullptr) pool_.cancel_restarts(*old_generation);
    const unsigned old_number = pool_.current_number();
    pool_.promote_next();
    invsys::log_level level;
    if (new_generation != nullptr && invsys::parse_log_level(new_generation->cfg.log_level, level))
        invsys::set_log_level(level);
    log_info("master: reload done: generation " + std::to_string(pool_.current_number()) +
             " serves (" + std::to_string(new_generation ? new_generation->seats.size() : 0) +
             " workers); " + std::to_string(retiring) + " workers of generation " +
             std::to_string(old_number) + " finish their requests and exit");
    transition(state::normal, "reload done");
    pool_.forget_idle_generations();
    after_reload();
}

void master::abort_reload(const std::string& why) {
    generation* g = pool_.next();
    const auto now = steady::now();
    for (auto& [pid, w] : children_.all())
        if (w.generation == pool_.next_number()) retire(w, g, now);
    if (g != nullptr) pool_.cancel_restarts(*g);
    pool_.drop_next();
    log_error("master: reload failed: " + why + "; keeping the running workers");
    transition(state::normal, "reload failed");
    pool_.forget_idle_generations();
    after_reload();
}

void master::after_reload() {
    if (!reload_queued_ || state_ != state::normal) return;
    reload_queued_ = false;
    log_info("master: running the queued reload");
    begin_reload();
}

void master::begin_finishing(const std::string& why) {
    if (!transition(state::finishing, why)) {
        log_info("master: " + why + " ignored: already stopping");
        return;
    }
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
    pool_.cancel_all_restarts();
    const unsigned longest = pool_.longest_shutdown_timeout_s();
    for (auto& [pid, w] : children_.all()) children_.tell_to_stop(w, stop_kind::final_stop);
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
    generation* first = pool_.create_generation(initial_cfg_);
    if (first == nullptr) return 1;
    pool_.make_current(*first);
    for (unsigned seat = 0; seat < first->seats.size(); ++seat)
        if (pool_.spawn(*first, seat) != spawn_result::started)
            pool_.schedule_restart(*first, seat, pool_.first_retry_delay());

    last_stuck_search_ = steady::now();
    // The loop ends once the pool has stopped; every pass is bounded.
    for (;;) {
        wait_for_events();
        handle_signals();
        handle_exits();
        const auto now = steady::now();
        const bool search_stuck = now - last_stuck_search_ >= tick - stuck_search_slack;
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
    // The first generation loads the plugin files there are now; a file
    // dropped in later waits for a reload's check (plugin_manifest.hpp).
    invsys::config first = cfg;
    try {
        first.plugin_manifest = invsys::service::list_plugins(cfg.plugin_dir);
    } catch (const std::exception& e) {
        log_error(std::string("master: ") + e.what());
        return 1;
    }
    master m(first, config_path);
    return m.run();
}

}  // namespace invsys::fcgi
