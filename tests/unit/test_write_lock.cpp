// The write lock on its own (storage/sqlite/write_lock.hpp): the OFD lock on
// `<db>.lock` with its futex wake-up, between threads and between real processes
// (fork()ed children, each opening the lock after the fork as a worker
// does), including a holder that dies holding it. The store-level cases are
// in test_sqlite_store.cpp.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite/write_lock.hpp"

using namespace invsys;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct lock_dir {
    std::filesystem::path path;
    lock_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "invsys-lock-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = pattern;
    }
    ~lock_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    lock_dir(const lock_dir&) = delete;
    lock_dir& operator=(const lock_dir&) = delete;

    std::string db() const { return (path / "invsys.db").string(); }
    std::string lock() const { return db() + ".lock"; }
};

// A pipe to say "done" across fork(): one byte, or end of file.
struct signal_pipe {
    int fds[2] = {-1, -1};
    signal_pipe() {
        if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    }
    ~signal_pipe() {
        close_read();
        close_write();
    }
    signal_pipe(const signal_pipe&) = delete;
    signal_pipe& operator=(const signal_pipe&) = delete;
    void close_read() {
        if (fds[0] >= 0) ::close(fds[0]);
        fds[0] = -1;
    }
    void close_write() {
        if (fds[1] >= 0) ::close(fds[1]);
        fds[1] = -1;
    }
    void send() const {
        const char c = 'x';
        while (::write(fds[1], &c, 1) < 0 && errno == EINTR) {
        }
    }
    // True on a byte, false at end of file.
    bool wait() const {
        char c = 0;
        ssize_t n;
        while ((n = ::read(fds[0], &c, 1)) < 0 && errno == EINTR) {
        }
        return n == 1;
    }
};

// Runs `child` in a fork()ed process, which leaves through _exit(): with
// status 0 when `child` returns true, 1 when false or on an exception.
template <class F>
pid_t spawn(F&& child) {
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int status = 1;
        try {
            status = child() ? 0 : 1;
        } catch (...) {
        }
        ::_exit(status);
    }
    return pid;
}

int wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

constexpr auto busy_timeout = 2000ms;

}  // namespace

TEST_CASE("the write lock excludes a second holder until the first releases it", "[write_lock]") {
    lock_dir dir;
    write_lock a(dir.lock());
    write_lock b(dir.lock());  // a second mapping of the same mutex
    REQUIRE(a.try_lock_until(clock_type::now() + busy_timeout));

    bool b_had = true;
    std::thread other([&] { b_had = b.try_lock_until(clock_type::now() + 50ms); });
    other.join();
    CHECK_FALSE(b_had);

    a.unlock();
    std::thread again([&] {
        b_had = b.try_lock_until(clock_type::now() + busy_timeout);
        if (b_had) b.unlock();
    });
    again.join();
    CHECK(b_had);
}

TEST_CASE("a thread waiting for the write lock wakes as soon as the holder releases it",
          "[write_lock]") {
    lock_dir dir;
    write_lock lock(dir.lock());
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));

    clock_type::time_point acquired{};
    bool had = false;
    std::thread waiter([&] {
        had = lock.try_lock_until(clock_type::now() + busy_timeout);
        acquired = clock_type::now();
        if (had) lock.unlock();
    });
    std::this_thread::sleep_for(50ms);
    const auto released = clock_type::now();
    lock.unlock();
    waiter.join();

    REQUIRE(had);
    // A behaviour test, not a benchmark: on a loaded machine a wake-up can
    // take a while, but not the busy timeout.
    CHECK(acquired - released < busy_timeout / 2);
}

TEST_CASE("a process waiting for the write lock wakes as soon as another process releases it",
          "[write_lock][fork]") {
    lock_dir dir;
    write_lock lock(dir.lock());  // creates and initialises the file
    signal_pipe holding;
    const pid_t child = spawn([&] {
        holding.close_read();
        write_lock mine(dir.lock());  // opened after fork, as a worker does
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        holding.send();
        std::this_thread::sleep_for(50ms);
        mine.unlock();
        return true;
    });
    holding.close_write();
    REQUIRE(holding.wait());

    const auto start = clock_type::now();
    const bool had = lock.try_lock_until(clock_type::now() + busy_timeout);
    const auto waited = clock_type::now() - start;
    if (had) lock.unlock();
    CHECK(exited_cleanly(wait_for(child)));
    REQUIRE(had);
    CHECK(waited < busy_timeout / 2);
}

TEST_CASE("the write lock times out while another process holds it", "[write_lock][fork]") {
    lock_dir dir;
    write_lock lock(dir.lock());
    signal_pipe holding;
    signal_pipe release;
    const pid_t child = spawn([&] {
        holding.close_read();
        release.close_write();
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        holding.send();
        release.wait();  // until the parent closes its end
        mine.unlock();
        return true;
    });
    holding.close_write();
    release.close_read();
    REQUIRE(holding.wait());

    const auto start = clock_type::now();
    CHECK_FALSE(lock.try_lock_until(clock_type::now() + 100ms));
    const auto waited = clock_type::now() - start;
    CHECK(waited >= 90ms);
    CHECK(waited < busy_timeout);
    // A deadline already past: one attempt, no wait.
    CHECK_FALSE(lock.try_lock_until(clock_type::now() - 1s));

    release.close_write();
    CHECK(exited_cleanly(wait_for(child)));
    CHECK(lock.try_lock_until(clock_type::now() + busy_timeout));
    lock.unlock();
}

TEST_CASE("a process that dies holding the write lock leaves it to the next at once",
          "[write_lock][fork]") {
    lock_dir dir;
    write_lock lock(dir.lock());
    const pid_t child = spawn([&] {
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        ::_exit(0);  // holding it: no unlock, no destructor
        return true;
    });
    REQUIRE(exited_cleanly(wait_for(child)));

    const auto start = clock_type::now();
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    CHECK(clock_type::now() - start < busy_timeout / 2);
    lock.unlock();
    // Taken over and made consistent: usable as ever, by this process and
    // by another.
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    lock.unlock();
    const pid_t next = spawn([&] {
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        mine.unlock();
        return true;
    });
    CHECK(exited_cleanly(wait_for(next)));
}

TEST_CASE("a waiter wakes at once when the holder is killed with SIGKILL", "[write_lock][fork]") {
    lock_dir dir;
    write_lock lock(dir.lock());
    signal_pipe holding;
    const pid_t child = spawn([&] {
        holding.close_read();
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        holding.send();
        for (;;) ::pause();
    });
    holding.close_write();
    REQUIRE(holding.wait());

    bool had = false;
    clock_type::time_point acquired{};
    std::thread waiter([&] {
        had = lock.try_lock_until(clock_type::now() + busy_timeout);
        acquired = clock_type::now();
        if (had) lock.unlock();
    });
    std::this_thread::sleep_for(50ms);  // let the waiter block on the lock
    const auto killed = clock_type::now();
    ::kill(child, SIGKILL);
    waiter.join();
    const int status = wait_for(child);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    REQUIRE(had);
    CHECK(acquired - killed < busy_timeout / 2);
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    lock.unlock();
}

TEST_CASE("processes opening the write lock at once share one mutex", "[write_lock][fork]") {
    lock_dir dir;
    // A counter outside the lock file, shared with the children, bumped
    // without atomics under the lock: lost updates would show up.
    auto* counter = static_cast<volatile long*>(
        ::mmap(nullptr, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    REQUIRE(counter != MAP_FAILED);
    *counter = 0;
    constexpr int processes = 4;
    constexpr int rounds = 500;

    signal_pipe go;
    std::vector<pid_t> children;
    for (int i = 0; i < processes; ++i) {
        children.push_back(spawn([&] {
            go.close_write();
            go.wait();  // all start together, on a file none has created yet
            write_lock mine(dir.lock());
            for (int r = 0; r < rounds; ++r) {
                if (!mine.try_lock_until(clock_type::now() + 10s)) return false;
                const long seen = *counter;
                if (r % 50 == 0) std::this_thread::yield();
                *counter = seen + 1;
                mine.unlock();
            }
            return true;
        }));
    }
    go.close_write();  // end of file: go
    int clean = 0;
    for (pid_t pid : children) clean += exited_cleanly(wait_for(pid)) ? 1 : 0;
    CHECK(clean == processes);
    CHECK(*counter == processes * rounds);
    ::munmap(const_cast<long*>(counter), sizeof(long));
}

TEST_CASE("taking the write lock twice in one thread is refused, not a deadlock", "[write_lock]") {
    lock_dir dir;
    write_lock lock(dir.lock());
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    CHECK_THROWS_AS(lock.try_lock_until(clock_type::now() + busy_timeout), std::logic_error);
    lock.unlock();
}

TEST_CASE("the lock file takes the database file's permissions", "[write_lock]") {
    lock_dir dir;
    { std::ofstream(dir.db()).put('\0'); }
    REQUIRE(::chmod(dir.db().c_str(), 0660) == 0);
    write_lock lock(dir.lock());
    struct stat st {};
    REQUIRE(::stat(dir.lock().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0660);
    CHECK(st.st_size >= 64);
}

TEST_CASE("an empty lock file, as an older invsys left it, is taken over", "[write_lock]") {
    lock_dir dir;
    { std::ofstream(dir.lock()); }
    write_lock lock(dir.lock());
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    lock.unlock();
}

TEST_CASE("a lock file that holds something else is refused at open", "[write_lock]") {
    lock_dir dir;
    {
        std::ofstream out(dir.lock());
        out << std::string(8192, 'z');
    }
    CHECK_THROWS_AS(write_lock(dir.lock()), std::runtime_error);
    std::filesystem::create_directory(dir.path / "a-directory.lock");
    CHECK_THROWS_AS(write_lock((dir.path / "a-directory.lock").string()), std::runtime_error);
    CHECK_THROWS_AS(write_lock((dir.path / "missing" / "x.lock").string()), std::runtime_error);
}

TEST_CASE("a lock file copied while held and put back after its holder died does not block",
          "[write_lock][fork]") {
    // What a power cut, a volume snapshot restore or `cp -a` of the data
    // directory during a write leaves: a file written while the lock was
    // held, whose holder no longer exists. Nothing in it may keep writers out.
    lock_dir dir;
    const std::string copy = dir.lock() + ".copy";
    signal_pipe holding;
    const pid_t child = spawn([&] {
        holding.close_read();
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        holding.send();
        for (;;) ::pause();
    });
    holding.close_write();
    REQUIRE(holding.wait());
    std::filesystem::copy_file(dir.lock(), copy);
    ::kill(child, SIGKILL);
    wait_for(child);
    // Put back over the same inode, as a restore into a volume does.
    std::filesystem::copy_file(copy, dir.lock(), std::filesystem::copy_options::overwrite_existing);

    const auto start = clock_type::now();
    write_lock lock(dir.lock());
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    CHECK(clock_type::now() - start < busy_timeout / 2);
    lock.unlock();
    // And with the lock freshly opened by another process too.
    const pid_t next = spawn([&] {
        write_lock mine(dir.lock());
        if (!mine.try_lock_until(clock_type::now() + busy_timeout)) return false;
        mine.unlock();
        return true;
    });
    CHECK(exited_cleanly(wait_for(next)));
}

TEST_CASE("a child fork()ed with the lock open gets a lock of its own", "[write_lock][fork]") {
    // The child inherits the parent's open file description; sharing it
    // would share the parent's OFD lock, and the two would not exclude
    // each other.
    lock_dir dir;
    write_lock lock(dir.lock());
    signal_pipe held;
    const pid_t child = spawn([&] {
        held.close_write();
        if (!held.wait()) return false;
        // The parent holds it now: the child must wait, and time out.
        return !lock.try_lock_until(clock_type::now() + 100ms);
    });
    held.close_read();
    REQUIRE(lock.try_lock_until(clock_type::now() + busy_timeout));
    held.send();
    CHECK(exited_cleanly(wait_for(child)));
    lock.unlock();
}
