// Up to N SQLite connections shared by the threads of a process. A
// connection is opened on first need and then reused; a lease gives one to
// one thread until the lease ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace invsys {

class sqlite_connection;

class sqlite_pool {
  public:
    using deadline = std::chrono::steady_clock::time_point;

    // Opens one connection at once, so that a bad path or a database that
    // cannot be set up fails here (std::runtime_error).
    sqlite_pool(std::string path, unsigned busy_timeout_ms, unsigned size);
    ~sqlite_pool();
    sqlite_pool(const sqlite_pool&) = delete;
    sqlite_pool& operator=(const sqlite_pool&) = delete;

    class lease {
      public:
        lease(lease&& other) noexcept;
        lease& operator=(lease&&) = delete;
        ~lease();
        sqlite_connection& operator*() const noexcept { return *connection_; }
        sqlite_connection* operator->() const noexcept { return connection_.get(); }
        // Closes the connection instead of giving it back (its state is
        // unknown, e.g. a failed ROLLBACK; closing rolls back).
        void discard() noexcept;

      private:
        friend class sqlite_pool;
        lease(sqlite_pool& pool, std::unique_ptr<sqlite_connection> c) noexcept;
        sqlite_pool* pool_;
        std::unique_ptr<sqlite_connection> connection_;
    };

    // Throws database_busy() (error) when no connection is free by
    // `until`, and what opening a connection throws.
    lease acquire(deadline until);

  private:
    void give_back(std::unique_ptr<sqlite_connection> c) noexcept;
    void forget_one() noexcept;

    const std::string path_;
    const unsigned busy_timeout_ms_;
    const unsigned size_;
    std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<sqlite_connection>> idle_;
    unsigned open_ = 0;  // idle + leased + being opened
};

}  // namespace invsys
