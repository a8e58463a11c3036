#include "children.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <invsys/log.hpp>

#include "malloc_arenas.hpp"
#include "signals.hpp"
#include "sys_error.hpp"
#include "worker.hpp"

namespace invsys::fcgi {
namespace {

// The byte a final stop writes into the stop pipe before closing it.
constexpr char finish_byte = 'f';

// Runs in the forked child; never returns.
[[noreturn]] void become_worker(const worker_launch& launch, pid_t master, int stop_read_fd,
                                unsigned entry, const std::map<pid_t, worker_process>& others) {
    // Workers never outlive the master, even one killed with SIGKILL.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != master) ::_exit(1);
    // Before the worker's first thread: arenas are made as threads allocate.
    bound_malloc_arenas(*launch.cfg);
    become_worker_signals();
    for (const int fd : launch.close_fds) ::close(fd);
    // A stop pipe must have a single writer, the master: a worker holding
    // another's write end would keep that worker from seeing it close.
    for (const auto& [pid, other] : others)
        if (other.stop_fd >= 0) ::close(other.stop_fd);

    int rc = 1;
    try {
        scoreboard::reporter reporter(*launch.board, entry, launch.notify_fd);
        worker_options options;
        options.stop_fd = stop_read_fd;
        options.max_requests = launch.cfg->max_requests;
        options.observer = &reporter;
        options.database_migrated_before = launch.database_migrated_before;
        options.drain_backlog = [stop_read_fd] {
            char byte = 0;
            return ::read(stop_read_fd, &byte, 1) == 1 && byte == finish_byte;
        };
        rc = run_worker(*launch.cfg, launch.listen_fd, options);
    } catch (const std::exception& e) {
        log_error(std::string("worker failed: ") + e.what());
    } catch (...) {
        log_error("worker failed: unknown exception");
    }
    // _exit: the master's atexit handlers and static objects are not ours.
    ::_exit(rc);
}

}  // namespace

std::string child_exit::describe() const {
    if (WIFEXITED(status)) return "code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

bool child_exit::success() const noexcept { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

std::vector<child_exit> reap_children() {
    std::vector<child_exit> exits;
    // Bounded: at most one round per child there can be, and then some.
    for (int round = 0; round < 100000; ++round) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            exits.push_back({pid, status});
            continue;
        }
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0 && errno != ECHILD) log_error("waitpid failed: " + errno_text(errno));
        break;
    }
    return exits;
}

children::~children() {
    for (auto& [pid, worker] : workers_)
        if (worker.stop_fd >= 0) ::close(worker.stop_fd);
}

worker_process* children::spawn_worker(const worker_launch& launch, unsigned generation,
                                       unsigned seat, unsigned entry) {
    int stop_pipe[2];
    if (::pipe2(stop_pipe, O_CLOEXEC) != 0) {
        log_error("master: pipe2 failed for worker " + std::to_string(seat + 1) + ": " +
                  errno_text(errno));
        return nullptr;
    }
    launch.board->reset(entry);
    const pid_t master = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        log_error("master: fork failed for worker " + std::to_string(seat + 1) + ": " +
                  errno_text(errno));
        ::close(stop_pipe[0]);
        ::close(stop_pipe[1]);
        return nullptr;
    }
    if (pid == 0) {
        ::close(stop_pipe[1]);
        become_worker(launch, master, stop_pipe[0], entry, workers_);
    }
    ::close(stop_pipe[0]);
    worker_process& record = workers_[pid];
    record.pid = pid;
    record.generation = generation;
    record.seat = seat;
    record.entry = entry;
    record.started = steady::now();
    record.stop_fd = stop_pipe[1];
    log_info("master: worker " + std::to_string(seat + 1) + " started (pid " + std::to_string(pid) +
             ", generation " + std::to_string(generation) + ")");
    return &record;
}

void children::tell_to_stop(worker_process& worker, stop_kind kind) noexcept {
    worker.retiring = true;
    if (worker.stop_fd < 0) return;
    if (kind == stop_kind::final_stop) {
        // The pipe is empty (only ever this one byte): the write cannot block.
        [[maybe_unused]] const ssize_t n = ::write(worker.stop_fd, &finish_byte, 1);
    }
    ::close(worker.stop_fd);
    worker.stop_fd = -1;
}

void children::kill(worker_process& worker, const std::string& reason) noexcept {
    if (!worker.killed_for.empty()) return;
    try {
        worker.killed_for = reason;
    } catch (...) {
    }
    if (::kill(worker.pid, SIGKILL) != 0 && errno != ESRCH)
        log_error("master: kill(" + std::to_string(worker.pid) +
                  ", SIGKILL) failed: " + errno_text(errno));
}

worker_process* children::find(pid_t pid) noexcept {
    const auto it = workers_.find(pid);
    return it == workers_.end() ? nullptr : &it->second;
}

void children::erase(pid_t pid) noexcept {
    const auto it = workers_.find(pid);
    if (it == workers_.end()) return;
    if (it->second.stop_fd >= 0) ::close(it->second.stop_fd);
    workers_.erase(it);
}

pid_t spawn_check(const std::string& config_path, const std::string& plugin_manifest) {
    std::vector<std::string> args = {"invsys-fcgi", "--check", "--plugin-manifest",
                                     plugin_manifest};
    if (!config_path.empty()) {
        args.push_back("--config");
        args.push_back(config_path);
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);

    const pid_t master = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        log_error("master: fork failed for the check: " + errno_text(errno));
        return -1;
    }
    if (pid == 0) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != master) ::_exit(127);
        reset_signals_for_exec();
        ::execv("/proc/self/exe", argv.data());
        log_error("master: exec of /proc/self/exe --check failed: " + errno_text(errno));
        ::_exit(127);
    }
    return pid;
}

}  // namespace invsys::fcgi
