// Up to N PostgreSQL connections shared by the threads of a process. A
// connection is opened on first need and then reused; a lease gives one to
// one thread until the lease ends. The same shape as sqlite_pool.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace invsys {

class postgresql_connection;

class postgresql_pool {
  public:
    using deadline = std::chrono::steady_clock::time_point;

    // Opens one connection at once, so that a bad connection string or an
    // unreachable server fails here: std::runtime_error with libpq's reason
    // (which names host, port and user, never the password).
    postgresql_pool(std::string conninfo, unsigned lock_timeout_ms, unsigned size);
    ~postgresql_pool();
    postgresql_pool(const postgresql_pool&) = delete;
    postgresql_pool& operator=(const postgresql_pool&) = delete;

    class lease {
      public:
        lease(lease&& other) noexcept;
        lease& operator=(lease&&) = delete;
        ~lease();
        postgresql_connection& operator*() const noexcept { return *connection_; }
        postgresql_connection* operator->() const noexcept { return connection_.get(); }
        // Closes the connection instead of giving it back.
        void discard() noexcept;

      private:
        friend class postgresql_pool;
        lease(postgresql_pool& pool, std::unique_ptr<postgresql_connection> c) noexcept;
        postgresql_pool* pool_;
        std::unique_ptr<postgresql_connection> connection_;
    };

    // Throws database_busy() (error) when no connection is free by
    // `until`, and error(unavailable) when a new connection cannot be
    // opened (the reason is logged).
    lease acquire(deadline until);

    // Closes every idle connection: after one connection failed, the others
    // (opened to the same server) most likely have too.
    void discard_idle();

  private:
    std::unique_ptr<postgresql_connection> connect() const;
    void give_back(std::unique_ptr<postgresql_connection> c) noexcept;
    void forget_one() noexcept;

    const std::string conninfo_;
    const unsigned lock_timeout_ms_;
    const unsigned size_;
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<postgresql_connection>> idle_;
    unsigned open_ = 0;  // idle + leased + being opened
};

}  // namespace invsys
