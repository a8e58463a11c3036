// Up to N connections of one backend shared by the threads of a process.
// A connection is opened on first need and then reused; a lease gives one
// to one thread until the lease ends.
//
// Connection must provide `bool reusable() noexcept`: whether a connection
// handed back may serve the next lease (not broken, no transaction left
// open); one that is not is closed instead.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "storage/common/failure.hpp"

namespace invsys {

template <class Connection>
class connection_pool {
  public:
    using deadline = std::chrono::steady_clock::time_point;
    // Opens one more connection; what it throws, acquire() throws.
    using opener = std::function<std::unique_ptr<Connection>()>;

    // `first` is open already: the backend opens it itself, so that a bad
    // path or an unreachable server fails the store's construction with
    // the backend's own message. nullptr: the pool starts empty, and the
    // first acquire() opens one.
    connection_pool(std::unique_ptr<Connection> first, opener open, unsigned size)
        : open_connection_(std::move(open)), size_(size == 0 ? 1 : size) {
        idle_.reserve(size_);  // so that give_back never allocates
        if (first) {
            idle_.push_back(std::move(first));
            open_ = 1;
        }
    }
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    class lease {
      public:
        lease(lease&& other) noexcept
            : pool_(other.pool_), connection_(std::move(other.connection_)) {}
        lease& operator=(lease&&) = delete;
        ~lease() {
            if (connection_) pool_->give_back(std::move(connection_));
        }
        Connection& operator*() const noexcept { return *connection_; }
        Connection* operator->() const noexcept { return connection_.get(); }
        // Closes the connection instead of giving it back (its state is
        // unknown, e.g. a failed ROLLBACK or a lost server).
        void discard() noexcept {
            if (!connection_) return;
            connection_.reset();
            pool_->forget_one();
        }

      private:
        friend class connection_pool;
        lease(connection_pool& pool, std::unique_ptr<Connection> c) noexcept
            : pool_(&pool), connection_(std::move(c)) {}
        connection_pool* pool_;
        std::unique_ptr<Connection> connection_;
    };

    // Throws database_busy() (error) when no connection is free by
    // `until`, and what opening a connection throws.
    lease acquire(deadline until) {
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
        // Opened outside the mutex: setting a connection up may wait for a
        // busy database or a slow server, and the other threads need not.
        try {
            return lease(*this, open_connection_());
        } catch (...) {
            forget_one();
            throw;
        }
    }

    // Closes every idle connection: after one connection failed, the others
    // (opened to the same server) most likely have too.
    void discard_idle() {
        std::vector<std::unique_ptr<Connection>> closing;
        closing.reserve(size_);  // so that nothing below allocates
        {
            std::lock_guard lock(mutex_);
            for (auto& c : idle_) closing.push_back(std::move(c));
            open_ -= static_cast<unsigned>(idle_.size());
            idle_.clear();
        }
        freed_.notify_all();
    }  // closed here, outside the mutex

  private:
    void give_back(std::unique_ptr<Connection> c) noexcept {
        if (!c->reusable()) {
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

    void forget_one() noexcept {
        {
            std::lock_guard lock(mutex_);
            --open_;
        }
        freed_.notify_one();
    }

    const opener open_connection_;
    const unsigned size_;
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<Connection>> idle_;
    unsigned open_ = 0;  // idle + leased + being opened
};

}  // namespace invsys
