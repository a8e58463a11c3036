#ifdef INVSYS_HAVE_POSTGRESQL

#include "storage/postgresql_pool.hpp"

#include <invsys/log.hpp>
#include <stdexcept>
#include <utility>

#include "error/error.hpp"
#include "storage/error_mapping.hpp"
#include "storage/postgresql_connection.hpp"

namespace invsys {

postgresql_pool::postgresql_pool(std::string conninfo, unsigned lock_timeout_ms, unsigned size)
    : conninfo_(std::move(conninfo)),
      lock_timeout_ms_(lock_timeout_ms),
      size_(size == 0 ? 1 : size) {
    idle_.reserve(size_);  // so that give_back never allocates
    try {
        idle_.push_back(connect());
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("postgresql: ") + e.what());
    }
    open_ = 1;
}

postgresql_pool::~postgresql_pool() = default;

std::unique_ptr<postgresql_connection> postgresql_pool::connect() const {
    return std::make_unique<postgresql_connection>(conninfo_, lock_timeout_ms_);
}

postgresql_pool::lease postgresql_pool::acquire(deadline until) {
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
    // Connected outside the mutex: the other threads need not wait for a
    // slow or unreachable server.
    try {
        return lease(*this, connect());
    } catch (const std::exception& e) {
        forget_one();
        log_error(std::string("storage: cannot connect to PostgreSQL: ") + e.what());
        throw database_unavailable();
    } catch (...) {
        forget_one();
        throw;
    }
}

void postgresql_pool::discard_idle() {
    std::vector<std::unique_ptr<postgresql_connection>> closing;
    closing.reserve(size_);  // so that nothing below allocates
    {
        std::lock_guard lock(mutex_);
        for (auto& c : idle_) closing.push_back(std::move(c));
        open_ -= static_cast<unsigned>(idle_.size());
        idle_.clear();
    }
    freed_.notify_all();
}  // closed here, outside the mutex

void postgresql_pool::give_back(std::unique_ptr<postgresql_connection> c) noexcept {
    if (c->broken() || !c->idle()) {  // a failed connection, or a transaction left open
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

void postgresql_pool::forget_one() noexcept {
    {
        std::lock_guard lock(mutex_);
        --open_;
    }
    freed_.notify_one();
}

postgresql_pool::lease::lease(postgresql_pool& pool,
                              std::unique_ptr<postgresql_connection> c) noexcept
    : pool_(&pool), connection_(std::move(c)) {}

postgresql_pool::lease::lease(lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)) {}

postgresql_pool::lease::~lease() {
    if (connection_) pool_->give_back(std::move(connection_));
}

void postgresql_pool::lease::discard() noexcept {
    if (!connection_) return;
    connection_.reset();
    pool_->forget_one();
}

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
