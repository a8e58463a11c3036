#include "storage/sqlite/store.hpp"

#include <chrono>
#include <invsys/metrics.hpp>
#include <stdexcept>
#include <type_traits>

#include "storage/common/basic_store.hpp"
#include "storage/common/pool.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/write_lock.hpp"

namespace invsys {
namespace {

namespace q = queries;

constexpr backend_description sqlite_backend{"sqlite", &sqlite_migrations,
                                             &classify_sqlite_failure};

// Writes check, then write, inside one transaction under the write lock:
// nothing can come between a check and its write.
class sqlite_store final : public basic_store<sqlite_store, sqlite_connection, sqlite_sql> {
  public:
    sqlite_store(const std::string& path, const store_options& options)
        : basic_store(options, sqlite_backend),
          lock_(path + ".lock"),
          pool_(
              std::make_unique<sqlite_connection>(path, options.busy_timeout_ms),
              [path, timeout = options.busy_timeout_ms] {
                  return std::make_unique<sqlite_connection>(path, timeout);
              },
              options.connections) {}

    // --- resources -----------------------------------------------------------

    void insert_resource(const resource& r) override {
        write("insert resource", [&](sqlite_connection& c) {
            refuse_taken_name(c, r);
            auto& ins = query<q::insert_resource>(c);
            ins.in =
                q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, r.created_us};
            ins.st.execute(true);
        });
    }

    void update_resource(const resource& r) override {
        write("update resource", [&](sqlite_connection& c) {
            if (!resource_seq(c, r.resource_type, r.id)) throw resource_not_found();
            refuse_taken_name(c, r);
            auto& up = query<q::update_resource>(c);
            up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
            up.st.execute(true);
        });
    }

    // --- allocations ---------------------------------------------------------

    void insert_allocation(const allocation& a) override {
        write("insert allocation", [&](sqlite_connection& c) {
            auto& exists = query<q::resource_exists>(c);
            exists.id = a.resource_id;
            exists.st.execute(true);
            if (!exists.st.got_data()) throw resource_not_found();
            refuse_overlap(c, a);
            auto& ins = query<q::insert_allocation>(c);
            ins.set(a);
            ins.st.execute(true);
        });
    }

    void update_allocation(const allocation& a) override {
        write("update allocation", [&](sqlite_connection& c) {
            if (!key_of(c, a.resource_id, a.id)) throw allocation_not_found();
            refuse_overlap(c, a);
            auto& up = query<q::update_allocation>(c);
            up.set(a);
            up.st.execute(true);
        });
    }

    std::string pragma(const std::string& name) {
        if (name.empty() ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos) {
            throw std::invalid_argument("not a pragma name: " + name);
        }
        return read("read pragma", [&](sqlite_connection& c) {
            std::string value;
            c.session() << "PRAGMA " + name, soci::into(value);
            return value;
        });
    }

    // --- how work runs (see basic_store) ---------------------------------------

    // Runs `work` on a pooled connection; reads run concurrently. In WAL
    // mode a reader never waits for the writer.
    template <class Work>
    auto read(std::string_view operation, Work&& work)
        -> std::invoke_result_t<Work&, sqlite_connection&> {
        try {
            auto c = pool_.acquire(deadline());
            return work(*c);
        } catch (...) {
            rethrow_as_error(operation);
        }
    }

    // Runs `work` in one write transaction: under the write lock (this
    // process's writers and other processes' alike), between our own
    // BEGIN IMMEDIATE and COMMIT, rolled back on any exception.
    template <class Work>
    void write(std::string_view operation, Work&& work) {
        try {
            const auto until = deadline();
            const auto asked = std::chrono::steady_clock::now();
            const bool locked = lock_.try_lock_until(until);
            metrics::add_write_lock_wait(
                static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - asked)
                                               .count()));
            if (!locked) throw database_busy();
            struct unlock_at_exit {
                write_lock& lock;
                ~unlock_at_exit() { lock.unlock(); }
            } unlock{lock_};

            auto c = pool_.acquire(until);
            query<q::begin_immediate>(*c).run();
            try {
                work(*c);
                // Pending reads would hold the snapshot open past COMMIT.
                c->finish_statements();
                query<q::commit>(*c).run();
            } catch (...) {
                roll_back(c);
                throw;
            }
        } catch (...) {
            rethrow_as_error(operation);
        }
    }

    // transaction() and migration_transaction(): write(), the defaults.
    // Every write is a transaction already, and the write lock and
    // BEGIN IMMEDIATE serialise migrating processes.

  private:
    using lease = connection_pool<sqlite_connection>::lease;

    static void roll_back(lease& c) noexcept {
        try {
            // Some errors (I/O, disk full) end the transaction by themselves.
            if (!c->in_transaction()) return;
            c->finish_statements();
            query<q::rollback>(*c).run();
        } catch (...) {
            c.discard();  // closing the connection rolls back
        }
    }

    // Under the write lock the holder found is the one that stays.
    static void refuse_taken_name(sqlite_connection& c, const resource& r) {
        if (auto holder = name_holder(c, r)) throw taken_name_conflict(r, {*holder});
    }

    // Conflict when `a` overlaps another allocation of its resource (not
    // a.id itself). One index seek when free.
    static void refuse_overlap(sqlite_connection& c, const allocation& a) {
        refuse_backwards(a);  // a.to_us - 1 below must not overflow
        // The only candidate is the first allocation ending after a.from_us
        // (see sqlite_sql::first_ending_after): one index seek.
        auto& seek = query<q::first_ending_after>(c);
        seek.resource_id = a.resource_id;
        seek.self = a.id;
        seek.after = a.from_us;
        seek.st.execute(true);
        if (!seek.st.got_data() || seek.from_us >= a.to_us) return;

        // A conflict: now, and only now, gather the ids in the way. Those
        // ending inside (from, to) all overlap; of the rest, only the first
        // ending at or after `to` can.
        auto& inside = query<q::ending_inside>(c);
        inside.range.set(a);
        inside.limit = sql_limit(max_conflict_ids);
        capped_ids found = q::fetch_ids(inside);
        if (found.ids.size() == max_conflict_ids) {
            auto& count = query<q::count_ending_inside>(c);
            count.range.set(a);
            count.st.execute(true);
            found.total = count.count;
        }
        seek.after = a.to_us - 1;
        seek.st.execute(true);
        if (seek.st.got_data() && seek.from_us < a.to_us) {
            ++found.total;
            if (found.ids.size() < max_conflict_ids) found.ids.push_back(seek.id);
        }
        throw overlap_conflict(std::move(found));
    }

    write_lock lock_;
    connection_pool<sqlite_connection> pool_;
};

}  // namespace

std::unique_ptr<store> open_sqlite_store(const std::string& path, const store_options& options) {
    if (path.empty() || path == ":memory:") {
        // An empty path or :memory: gives every connection a database of
        // its own, which a pool cannot share.
        throw std::runtime_error("sqlite: needs the path of a database file");
    }
    return std::make_unique<sqlite_store>(path, options);
}

std::string sqlite_pragma(store& s, const std::string& name) {
    return dynamic_cast<sqlite_store&>(s).pragma(name);
}

}  // namespace invsys
