#include "storage/sqlite/write_lock.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <invsys/log.hpp>
#include <stdexcept>

namespace invsys {

// The start of the mapped file. `magic` and `layout` are written, after the
// mutex is initialised, by the one process that initialises it; a file whose
// magic is 0 (new, or left by a process that died while initialising it)
// has no usable mutex yet.
struct write_lock::shared_state {
    std::uint32_t magic;
    std::uint32_t layout;
    pthread_mutex_t mutex;
};

namespace {

constexpr std::uint32_t lock_magic = 0x4c575649;  // "IVWL" in the file, little-endian
// Changes whenever the layout or the mutex's attributes change, and with the
// ABI's mutex size (a 32-bit and a 64-bit process must not share it).
constexpr std::uint32_t lock_layout = (1u << 16) | sizeof(pthread_mutex_t);

// SQLite's default for a new database file (SQLITE_DEFAULT_FILE_PERMISSIONS).
constexpr mode_t default_mode = 0644;

std::string errno_text(int error) { return std::strerror(error); }

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
    throw std::runtime_error(what + " " + path + ": " + errno_text(error));
}

std::atomic_ref<std::uint32_t> word(std::uint32_t& w) { return std::atomic_ref<std::uint32_t>(w); }
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

// `<db>.lock` → `<db>`; empty when the path does not end in ".lock".
std::string database_path_of(const std::string& lock_path) {
    constexpr std::string_view suffix = ".lock";
    if (lock_path.size() <= suffix.size() || !lock_path.ends_with(suffix)) return {};
    return lock_path.substr(0, lock_path.size() - suffix.size());
}

// Opens the lock file, creating it as SQLite creates its -wal and -shm
// files: with the database file's permission bits, whatever the umask, and,
// as root, its owner — so that a lock file first created by root (a
// migration run by hand, say) does not lock the service's user out.
int open_lock_file(const std::string& path) {
    for (;;) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd >= 0) return fd;
        if (errno == EINTR) continue;
        if (errno != ENOENT) fail("cannot open lock file", path, errno);

        struct stat db {};
        const std::string db_path = database_path_of(path);
        const bool have_db = !db_path.empty() && ::stat(db_path.c_str(), &db) == 0;
        const mode_t mode = have_db ? (db.st_mode & 0777) : default_mode;
        const int created = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (created < 0) {
            if (errno == EEXIST || errno == EINTR) continue;  // another process was quicker
            fail("cannot create lock file", path, errno);
        }
        if (have_db) {
            // Failures leave the umask's bits, as a plain open would.
            (void)::fchmod(created, mode);
            if (::geteuid() == 0) (void)::fchown(created, db.st_uid, db.st_gid);
        }
        return created;
    }
}

void flock_or_fail(int fd, int operation, const std::string& path) {
    while (::flock(fd, operation) != 0) {
        if (errno != EINTR) fail("cannot lock lock file", path, errno);
    }
}

// The mutex's attributes: shared between processes; robust, so that the
// death of its holder is reported to the next locker instead of blocking
// everyone for good; error-checking, so that a thread locking it twice or
// unlocking it without holding it gets an error instead of a deadlock.
void init_mutex(pthread_mutex_t& mutex, const std::string& path) {
    pthread_mutexattr_t attr;
    int rc = ::pthread_mutexattr_init(&attr);
    if (rc != 0) fail("cannot initialise the mutex of lock file", path, rc);
    rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (rc == 0) rc = ::pthread_mutex_init(&mutex, &attr);
    ::pthread_mutexattr_destroy(&attr);
    if (rc != 0) fail("cannot initialise the mutex of lock file", path, rc);
}

// pthread_mutex_timedlock's deadline is on CLOCK_REALTIME. Its steady
// sibling, pthread_mutex_clocklock, is not seen by GCC 12's
// ThreadSanitizer, which then reports every unlock as an error; a step of
// the wall clock during a wait only stretches or shortens that one wait.
timespec realtime_deadline(write_lock::deadline until) {
    using namespace std::chrono;
    const auto left = std::max(until - steady_clock::now(), steady_clock::duration::zero());
    const auto left_ns = duration_cast<nanoseconds>(left).count();
    timespec at{};
    ::clock_gettime(CLOCK_REALTIME, &at);
    constexpr long long billion = 1'000'000'000;
    const long long ns = at.tv_nsec + left_ns % billion;
    at.tv_sec += static_cast<time_t>(left_ns / billion + ns / billion);
    at.tv_nsec = static_cast<long>(ns % billion);
    return at;
}

}  // namespace

write_lock::write_lock(const std::string& lock_path) : path_(lock_path) {
    const int fd = open_lock_file(path_);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_at_exit{fd};

    // Only while initialising: the flock makes one process of those opening
    // the database at the same time initialise the mutex, and the others
    // wait for it and find the magic. It is released, and the descriptor
    // closed, before the lock is used; the mapping outlives both.
    flock_or_fail(fd, LOCK_EX, path_);

    struct stat st {};
    if (::fstat(fd, &st) != 0) fail("cannot stat lock file", path_, errno);
    if (!S_ISREG(st.st_mode)) {
        throw std::runtime_error("lock file " + path_ + " is not a regular file");
    }
    const long page = ::sysconf(_SC_PAGESIZE);
    mapped_size_ = std::max<std::size_t>(page > 0 ? static_cast<std::size_t>(page) : 4096,
                                         sizeof(shared_state));
    if (static_cast<std::size_t>(st.st_size) < mapped_size_ &&
        ::ftruncate(fd, static_cast<off_t>(mapped_size_)) != 0) {
        fail("cannot size lock file", path_, errno);
    }
    void* map = ::mmap(nullptr, mapped_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        const int error = errno;
        throw std::runtime_error("cannot map lock file " + path_ +
                                 " shared (its file system must support shared memory "
                                 "mappings): " +
                                 errno_text(error));
    }
    state_ = static_cast<shared_state*>(map);

    const std::uint32_t magic = word(state_->magic).load(std::memory_order_acquire);
    const std::uint32_t layout = word(state_->layout).load(std::memory_order_acquire);
    if (magic == 0) {
        try {
            init_mutex(state_->mutex, path_);
        } catch (...) {
            ::munmap(map, mapped_size_);
            throw;
        }
        word(state_->layout).store(lock_layout, std::memory_order_release);
        word(state_->magic).store(lock_magic, std::memory_order_release);
    } else if (magic != lock_magic || layout != lock_layout) {
        ::munmap(map, mapped_size_);
        throw std::runtime_error("lock file " + path_ +
                                 " holds something else than this version's write lock; "
                                 "stop every process using the database and remove it");
    }
    ::flock(fd, LOCK_UN);  // also released by the close
}

write_lock::~write_lock() {
    if (state_ != nullptr) ::munmap(state_, mapped_size_);
}

bool write_lock::try_lock_until(deadline until) {
    const timespec at = realtime_deadline(until);
    const int rc = ::pthread_mutex_timedlock(&state_->mutex, &at);
    switch (rc) {
        case 0:
            return true;
        case ETIMEDOUT:
            return false;
        case EOWNERDEAD: {
            // The previous holder died holding the lock (a worker killed by
            // SIGKILL, most likely, or crashed). We hold it now. What it was
            // doing needs no repair from us: if it died inside its write
            // transaction, its SQLite locks went with its process, and the
            // next writer's BEGIN IMMEDIATE finds the transaction's frames in
            // the WAL without their commit record (or a hot journal, in the
            // rollback-journal modes), which SQLite ignores (or rolls back)
            // by itself — the dead writer's transaction is rolled back, and
            // it never answered a commit. Mark the mutex usable again.
            const int fixed = ::pthread_mutex_consistent(&state_->mutex);
            if (fixed != 0) {
                ::pthread_mutex_unlock(&state_->mutex);
                fail("cannot recover the mutex of lock file", path_, fixed);
            }
            log_warn("storage: the previous holder of the write lock " + path_ +
                     " died holding it; taken over (SQLite rolls back its unfinished "
                     "transaction)");
            return true;
        }
        case ENOTRECOVERABLE:
            // Only if a holder that took over a dead one's lock unlocked it
            // without marking it consistent, which the code above never
            // does. Every write will be refused until the file is renewed.
            if (!reported_unusable_.exchange(true)) {
                log_error("storage: the write lock " + path_ +
                          " is not recoverable; writes are refused as busy until every "
                          "process using the database is stopped and the file removed");
            }
            return false;
        case EDEADLK:
            throw std::logic_error("write lock " + path_ + " taken twice by one thread");
        default:
            fail("cannot take the write lock", path_, rc);
    }
}

void write_lock::unlock() noexcept {
    const int rc = ::pthread_mutex_unlock(&state_->mutex);
    if (rc != 0) {
        // EPERM: not held by this thread — a bug of the caller's.
        log_error("storage: cannot release the write lock " + path_ + ": " + errno_text(rc));
    }
}

}  // namespace invsys
