#include "storage/postgresql/backup.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "storage/common/schema_guard.hpp"
#include "storage/postgresql/migrations.hpp"

extern char** environ;

namespace invsys {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// What libpq's tools take as -d: a URI as it is, `postgresql:<conninfo>`
// without its prefix.
std::string dbname_argument(const std::string& url) {
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return url;
    if (url.rfind("postgresql:", 0) == 0) return url.substr(11);
    fail("not a PostgreSQL URL");
}

struct run_result {
    int status = -1;  // exit code, -1 when killed or not started
    std::string out;  // stdout
};

// Runs argv (argv[0] from PATH) with stdout captured; stderr stays the
// operator's. The URL travels as an argument: prefer ~/.pgpass or
// PGPASSWORD to a password in it (docs/operations.md).
run_result run(const std::vector<std::string>& args) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (rc != 0) {
        ::close(pipe_fds[0]);
        fail("cannot run " + args[0] + ": " + std::strerror(rc));
    }
    run_result result;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n > 0) {
            result.out.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// The first column of the rows of `table` in the dump (COPY text format).
std::vector<std::string> dumped_column(const std::string& file, const std::string& table) {
    const run_result r = run({"pg_restore", "--data-only", "--table=" + table, "--file=-", file});
    if (r.status != 0)
        fail(file + " is not a PostgreSQL custom-format dump (pg_restore -l failed)");
    std::vector<std::string> values;
    std::istringstream lines(r.out);
    std::string line;
    bool in_copy = false;
    while (std::getline(lines, line)) {
        if (!in_copy) {
            in_copy =
                line.rfind("COPY ", 0) == 0 && line.find("." + table + " ") != std::string::npos;
            continue;
        }
        if (line == "\\.") break;
        values.push_back(line.substr(0, line.find('\t')));
    }
    return values;
}

std::vector<std::string> dumped_row(const std::string& file, const std::string& table) {
    const run_result r = run({"pg_restore", "--data-only", "--table=" + table, "--file=-", file});
    std::istringstream lines(r.out);
    std::string line;
    bool in_copy = false;
    while (std::getline(lines, line)) {
        if (!in_copy) {
            in_copy = line.rfind("COPY ", 0) == 0;
            continue;
        }
        if (line == "\\.") break;
        std::vector<std::string> fields;
        std::istringstream cells(line);
        std::string cell;
        while (std::getline(cells, cell, '\t')) fields.push_back(cell);
        return fields;
    }
    return {};
}

int check_dump(const std::string& file) {
    const run_result listing = run({"pg_restore", "--list", file});
    if (listing.status != 0) fail(file + " is not a PostgreSQL custom-format dump (pg_dump -Fc)");
    if (listing.out.find(" TABLE public resources ") == std::string::npos ||
        listing.out.find(" TABLE public schema_migrations ") == std::string::npos)
        fail(file + " is not a dump of an invsys database (no resources or schema_migrations)");
    std::set<long long> recorded;
    for (const std::string& v : dumped_column(file, "schema_migrations"))
        recorded.insert(std::stoll(v));
    std::optional<schema_guard_row> guard;
    if (recorded.count(schema_guard_version) != 0) {
        const auto row = dumped_row(file, "schema_guard");  // singleton, version, min
        if (row.size() == 3) guard = schema_guard_row{std::stoi(row[1]), std::stoi(row[2])};
    }
    if (auto refusal = schema_refusal(recorded, guard, postgresql_migrations().back().version))
        fail(file + ": " + *refusal);
    return recorded.empty() ? 0 : static_cast<int>(*recorded.rbegin());
}

std::uint64_t size_of(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

backup_report backup_postgresql(const std::string& url, const std::string& file) {
    if (::access(file.c_str(), F_OK) == 0)
        fail(file + " exists already: a backup never overwrites a file");
    const auto started = std::chrono::steady_clock::now();
    const std::string partial = file + ".partial";
    // -Fc: one compressed file that pg_restore reads table by table. One
    // repeatable-read snapshot: consistent while the pools write.
    const run_result r = run({"pg_dump", "--format=custom", "--no-owner", "--file=" + partial,
                              "--dbname=" + dbname_argument(url)});
    if (r.status != 0) {
        ::unlink(partial.c_str());
        fail("pg_dump failed (exit " + std::to_string(r.status) + "; its message is above)");
    }
    int version = 0;
    try {
        version = check_dump(partial);
    } catch (...) {
        ::unlink(partial.c_str());
        throw;
    }
    if (::rename(partial.c_str(), file.c_str()) != 0)
        fail("cannot rename " + partial + " to " + file + ": " + std::strerror(errno));
    return {"postgresql", size_of(file), seconds_since(started), version};
}

backup_report restore_postgresql(const std::string& url, const std::string& file) {
    if (::access(file.c_str(), R_OK) != 0) fail(file + " cannot be read");
    const auto started = std::chrono::steady_clock::now();
    const int version = check_dump(file);
    const std::string dbname = dbname_argument(url);
    const run_result sessions =
        run({"psql", "--no-psqlrc", "--tuples-only", "--no-align", "--dbname=" + dbname,
             "--command=SELECT count(*) FROM pg_stat_activity WHERE datname = "
             "current_database() AND pid <> pg_backend_pid()"});
    if (sessions.status != 0) fail("cannot connect to the database to restore into (psql failed)");
    if (std::stoll(sessions.out) != 0)
        fail("other sessions use the database (" + std::to_string(std::stoll(sessions.out)) +
             "): stop every invsys pool before restoring");
    const run_result r =
        run({"pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--exit-on-error", "--dbname=" + dbname, file});
    if (r.status != 0)
        fail("pg_restore failed (exit " + std::to_string(r.status) +
             "; nothing was changed: one transaction)");
    return {"postgresql", size_of(file), seconds_since(started), version};
}

}  // namespace invsys
