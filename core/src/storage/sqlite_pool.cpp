#include "storage/sqlite_pool.hpp"

#include <utility>

#include "storage/error_mapping.hpp"
#include "storage/sqlite_connection.hpp"

namespace invsys {

sqlite_pool::sqlite_pool(std::string path, unsigned busy_timeout_ms, unsigned size)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), size_(size == 0 ? 1 : size) {
    idle_.reserve(size_);  // so that give_back never allocates
    idle_.push_back(std::make_unique<sqlite_connection>(path_, busy_timeout_ms_));
    open_ = 1;
}

sqlite_pool::~sqlite_pool() = default;

sqlite_pool::lease sqlite_pool::acquire(deadline until) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            return lease(*this, std::move(c));
        }
        if (open_ < size_) break;
        if (freed_.wait_until(lock, until) == std::cv_status::timeout && idle_.empty() &&
            open_ >= size_) {
            throw database_busy();
        }
    }
    ++open_;
    lock.unlock();
    // Opened outside the mutex: setting a connection up may wait for a busy
    // database, and the other threads need not wait for that.
    try {
        return lease(*this, std::make_unique<sqlite_connection>(path_, busy_timeout_ms_));
    } catch (...) {
        forget_one();
        throw;
    }
}

void sqlite_pool::give_back(std::unique_ptr<sqlite_connection> c) noexcept {
    c->finish_statements();
    if (c->in_transaction()) {  // never expected: a writer that failed to roll back
        c.reset();
        forget_one();
        return;
    }
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(c));
    }
    freed_.notify_one();
}

void sqlite_pool::forget_one() noexcept {
    {
        std::lock_guard lock(mutex_);
        --open_;
    }
    freed_.notify_one();
}

sqlite_pool::lease::lease(sqlite_pool& pool, std::unique_ptr<sqlite_connection> c) noexcept
    : pool_(&pool), connection_(std::move(c)) {}

sqlite_pool::lease::lease(lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)) {}

sqlite_pool::lease::~lease() {
    if (connection_) pool_->give_back(std::move(connection_));
}

void sqlite_pool::lease::discard() noexcept {
    if (!connection_) return;
    connection_.reset();
    pool_->forget_one();
}

}  // namespace invsys
