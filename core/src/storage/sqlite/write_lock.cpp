#include "storage/sqlite/write_lock.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <invsys/log.hpp>
#include <stdexcept>

#include "util/process_id.hpp"

namespace invsys {

// The start of the mapped file. Nothing in it says who holds the lock (the
// kernel's OFD lock does): a stale copy of it is harmless.
struct write_lock::shared_state {
    std::uint32_t magic;
    std::uint32_t layout;
    std::uint32_t released;  // futex word: bumped at every unlock
    std::uint32_t waiters;   // threads sleeping on `released` (a hint: skip the wake when 0)
    std::uint32_t held;      // 1 while held: the next holder finding 1 knows the last one died
};

namespace {

constexpr std::uint32_t lock_magic = 0x4c575649;  // "IVWL" in the file, little-endian
// Changes whenever the layout or the lock's protocol changes.
constexpr std::uint32_t lock_layout = (2u << 16) | 20u;
// What invsys before the OFD lock wrote: its robust pthread mutex's layout.
constexpr std::uint32_t pthread_mutex_layout = (1u << 16) | 40u;

// SQLite's default for a new database file (SQLITE_DEFAULT_FILE_PERMISSIONS).
constexpr mode_t default_mode = 0644;

// A waiter re-checks the file lock at least this often: a holder that died
// holding it released the OFD lock (the kernel did) but never woke anyone.
constexpr auto retry_slice = std::chrono::milliseconds(20);

std::string errno_text(int error) { return std::strerror(error); }

[[noreturn]] void fail(const std::string& what, const std::string& path, int error) {
    throw std::runtime_error(what + " " + path + ": " + errno_text(error));
}

std::atomic_ref<std::uint32_t> word(std::uint32_t& w) { return std::atomic_ref<std::uint32_t>(w); }
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

// Shared (not FUTEX_PRIVATE) futex calls: the word is in a MAP_SHARED file
// mapping, keyed by the file's inode, so processes of any PID namespace on
// this host meet on it.
void futex_wait(std::uint32_t& w, std::uint32_t seen, std::chrono::nanoseconds for_at_most) {
    timespec rel{};
    rel.tv_sec = static_cast<time_t>(for_at_most.count() / 1'000'000'000);
    rel.tv_nsec = static_cast<long>(for_at_most.count() % 1'000'000'000);
    ::syscall(SYS_futex, &w, FUTEX_WAIT, seen, &rel, nullptr, 0);  // any return: look again
}

void futex_wake_all(std::uint32_t& w) {
    ::syscall(SYS_futex, &w, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

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

// True when taken; false when `operation` has LOCK_NB and another holds it.
bool flock_or_fail(int fd, int operation, const std::string& path) {
    while (::flock(fd, operation) != 0) {
        if (errno == EWOULDBLOCK && (operation & LOCK_NB) != 0) return false;
        if (errno != EINTR) fail("cannot lock lock file", path, errno);
    }
    return true;
}

// The byte the OFD lock covers: the first of the file.
struct flock whole_lock(short type) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return fl;
}

// Every process keeps a shared flock on the file for as long as it has it
// open. So an exclusive flock that can be had at once means no live
// process uses the file, and whatever it holds (a stale copy, a file left
// by an older version) may be written afresh.
void take_presence(int fd, const std::string& path) { flock_or_fail(fd, LOCK_SH, path); }

}  // namespace

write_lock::write_lock(const std::string& lock_path) : path_(lock_path) {
    fd_ = open_lock_file(path_);
    try {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) fail("cannot stat lock file", path_, errno);
        if (!S_ISREG(st.st_mode)) {
            throw std::runtime_error("lock file " + path_ + " is not a regular file");
        }
        const bool alone = flock_or_fail(fd_, LOCK_EX | LOCK_NB, path_);
        if (!alone) take_presence(fd_, path_);  // waits for an initialising process

        const long page = ::sysconf(_SC_PAGESIZE);
        mapped_size_ = std::max<std::size_t>(page > 0 ? static_cast<std::size_t>(page) : 4096,
                                             sizeof(shared_state));
        if (::fstat(fd_, &st) != 0) fail("cannot stat lock file", path_, errno);
        if (static_cast<std::size_t>(st.st_size) < mapped_size_ &&
            ::ftruncate(fd_, static_cast<off_t>(mapped_size_)) != 0) {
            fail("cannot size lock file", path_, errno);
        }
        void* map = ::mmap(nullptr, mapped_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
        if (map == MAP_FAILED) {
            const int e = errno;
            throw std::runtime_error("cannot map lock file " + path_ +
                                     " shared (its file system must support shared memory "
                                     "mappings): " +
                                     errno_text(e));
        }
        state_ = static_cast<shared_state*>(map);

        const std::uint32_t magic = word(state_->magic).load(std::memory_order_acquire);
        const std::uint32_t layout = word(state_->layout).load(std::memory_order_acquire);
        const bool ours = magic == lock_magic && layout == lock_layout;
        const bool known = magic == 0 || (magic == lock_magic && layout == pthread_mutex_layout);
        if (alone && (ours || known)) {
            // Nobody else has the file open: start from a clean state (a
            // restored copy may hold counters of processes long gone).
            std::memset(static_cast<void*>(state_), 0, sizeof(shared_state));
            word(state_->layout).store(lock_layout, std::memory_order_release);
            word(state_->magic).store(lock_magic, std::memory_order_release);
            if (::msync(map, mapped_size_, MS_ASYNC) != 0) {
                // Only a hint; the mapping is what others read.
            }
            take_presence(fd_, path_);  // exclusive → shared
        } else if (!ours) {
            throw std::runtime_error(
                "lock file " + path_ +
                (known ? std::string(" is used by an older invsys (a pthread-mutex write lock)")
                       : std::string(" holds something else than this version's write lock")) +
                "; stop every process using the database and remove it");
        }
        opened_by_ = current_pid();
    } catch (...) {
        if (state_ != nullptr) ::munmap(state_, mapped_size_);
        state_ = nullptr;
        ::close(fd_);
        throw;
    }
}

write_lock::~write_lock() {
    if (state_ != nullptr) ::munmap(state_, mapped_size_);
    if (fd_ >= 0) ::close(fd_);
}

// A fork()ed child shares the parent's open file description, and with it
// the parent's OFD lock: the two would never exclude each other. Open a
// description of its own (under threads_, so one thread does it).
void write_lock::reopen_after_fork() {
    const int fd = open_lock_file(path_);
    try {
        take_presence(fd, path_);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd_);  // the parent's description stays open (and locked, if so) in the parent
    fd_ = fd;
    opened_by_ = current_pid();
}

bool write_lock::try_file_lock() {
    struct flock fl = whole_lock(F_WRLCK);
    for (;;) {
        if (::fcntl(fd_, F_OFD_SETLK, &fl) == 0) return true;
        if (errno == EAGAIN || errno == EACCES) return false;
        if (errno != EINTR) fail("cannot take the write lock", path_, errno);
    }
}

bool write_lock::try_lock_until(deadline until) {
    if (owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
        throw std::logic_error("write lock " + path_ + " taken twice by one thread");
    }
    if (!threads_.try_lock_until(until)) return false;
    try {
        if (current_pid() != opened_by_) reopen_after_fork();  // no system call per write
        auto& released = state_->released;
        auto waiters = word(state_->waiters);
        for (;;) {
            if (try_file_lock()) break;
            // Read the word before the second attempt: an unlock after that
            // attempt bumps it, and the wait below returns at once.
            const std::uint32_t seen = word(released).load(std::memory_order_seq_cst);
            waiters.fetch_add(1, std::memory_order_seq_cst);
            const bool had = try_file_lock();
            const auto now = std::chrono::steady_clock::now();
            if (!had && now < until) {
                futex_wait(released, seen,
                           std::min<std::chrono::nanoseconds>(until - now, retry_slice));
            }
            waiters.fetch_sub(1, std::memory_order_seq_cst);
            if (had) break;
            if (now >= until) {
                threads_.unlock();
                return false;
            }
        }
    } catch (...) {
        threads_.unlock();
        throw;
    }
    if (word(state_->held).exchange(1, std::memory_order_acq_rel) != 0) {
        // The previous holder died holding the lock (a worker killed by
        // SIGKILL, most likely, or the machine lost power). The kernel
        // released its OFD lock. What it was doing needs no repair from us:
        // if it died inside its write transaction, the next writer's
        // BEGIN IMMEDIATE finds the transaction's frames in the WAL without
        // their commit record, which SQLite ignores — it is rolled back,
        // and it never answered a commit.
        log_warn("storage: the previous holder of the write lock " + path_ +
                 " died holding it; taken over (SQLite rolls back its unfinished "
                 "transaction)");
    }
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    return true;
}

void write_lock::unlock() noexcept {
    if (owner_.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
        log_error("storage: cannot release the write lock " + path_ + ": not held by this thread");
        return;
    }
    owner_.store(std::thread::id{}, std::memory_order_relaxed);
    word(state_->held).store(0, std::memory_order_release);
    struct flock fl = whole_lock(F_UNLCK);
    while (::fcntl(fd_, F_OFD_SETLK, &fl) != 0) {
        if (errno != EINTR) {
            log_error("storage: cannot release the write lock " + path_ + ": " + errno_text(errno));
            break;
        }
    }
    word(state_->released).fetch_add(1, std::memory_order_seq_cst);
    if (word(state_->waiters).load(std::memory_order_seq_cst) != 0)
        futex_wake_all(state_->released);
    threads_.unlock();
}

}  // namespace invsys
