#include "storage/sqlite_store.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include "error/error.hpp"
#include "storage/error_mapping.hpp"
#include "storage/sqlite_checks.hpp"
#include "storage/sqlite_connection.hpp"
#include "storage/sqlite_migrations.hpp"
#include "storage/sqlite_pool.hpp"
#include "storage/write_lock.hpp"

namespace invsys {
namespace {

namespace q = sqlite_queries;

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

error resource_not_found() { return error(error_code::not_found, "resource not found"); }
error allocation_not_found() {
    return error(error_code::not_found, "allocation not found");
}

// A position in the listing order of allocations.
using allocation_key = std::tuple<long long, long long, long long>;  // from_us, to_us, seq

class sqlite_store final : public store {
  public:
    sqlite_store(const std::string& path, const store_options& options)
        : options_(options),
          lock_(path + ".lock"),
          pool_(path, options.busy_timeout_ms, options.connections) {}

    void migrate() override {
        write("migrate",
              [](sqlite_connection& c) { apply_sqlite_migrations(c.session(), now_us()); });
    }

    void ping() override {
        try {
            read("ping", [](sqlite_connection& c) {
                c.query<q::ping>().run();
                return 0;
            });
        } catch (const error& e) {
            if (e.code() == error_code::unavailable) throw;
            throw error(error_code::unavailable, "database unavailable");
        }
    }

    std::string backend() const override { return "sqlite"; }

    // --- resources -----------------------------------------------------------

    void insert_resource(const resource& r) override {
        write("insert resource", [&](sqlite_connection& c) {
            refuse_taken_name(c, r);
            auto& ins = c.query<q::insert_resource>();
            ins.in =
                q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, r.created_us};
            ins.st.execute(true);
        });
    }

    std::optional<resource> find_resource(std::string_view type, std::string_view id) override {
        return read("find resource", [&](sqlite_connection& c) -> std::optional<resource> {
            auto& f = c.query<q::find_resource>();
            f.id = id;
            f.type = type;
            f.st.execute(true);
            if (!f.st.got_data()) return std::nullopt;
            return f.row.value();
        });
    }

    std::vector<resource> list_resources(std::string_view type,
                                         const std::optional<std::string>& after,
                                         std::size_t limit) override {
        return read("list resources", [&](sqlite_connection& c) {
            long long after_seq = 0;
            if (after) {
                auto seq = resource_seq(c, type, *after);
                if (!seq) throw invalid_field("after", "unknown id");
                after_seq = *seq;
            }
            std::vector<resource> page;
            if (limit == 0) return page;
            auto& l = c.query<q::list_resources>();
            l.type = type;
            l.after_seq = after_seq;
            l.limit = q::sql_limit(limit);
            l.st.execute();
            while (l.st.fetch()) page.push_back(l.row.value());
            return page;
        });
    }

    void update_resource(const resource& r) override {
        write("update resource", [&](sqlite_connection& c) {
            if (!resource_seq(c, r.resource_type, r.id)) throw resource_not_found();
            refuse_taken_name(c, r);
            auto& up = c.query<q::update_resource>();
            up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
            up.st.execute(true);
        });
    }

    void delete_resource(std::string_view type, std::string_view id, bool force,
                         std::int64_t now) override {
        write("delete resource", [&](sqlite_connection& c) {
            if (!resource_seq(c, type, id)) throw resource_not_found();
            if (!force) refuse_current_allocations(c, id, now);
            auto& del = c.query<q::delete_resource>();
            del.id = id;
            del.st.execute(true);
        });
    }

    // --- allocations ---------------------------------------------------------

    void insert_allocation(const allocation& a) override {
        write("insert allocation", [&](sqlite_connection& c) {
            auto& exists = c.query<q::resource_exists>();
            exists.id = a.resource_id;
            exists.st.execute(true);
            if (!exists.st.got_data()) throw resource_not_found();
            refuse_overlap(c, a);
            auto& ins = c.query<q::insert_allocation>();
            ins.set(a);
            ins.st.execute(true);
        });
    }

    std::optional<allocation> find_allocation(std::string_view resource_id,
                                              std::string_view id) override {
        return read("find allocation", [&](sqlite_connection& c) -> std::optional<allocation> {
            auto& f = c.query<q::find_allocation>();
            f.id = id;
            f.resource_id = resource_id;
            f.st.execute(true);
            if (!f.st.got_data()) return std::nullopt;
            return f.row.value();
        });
    }

    std::vector<allocation> list_allocations(std::string_view resource_id,
                                             const allocation_filter& filter,
                                             const std::optional<std::string>& after,
                                             std::size_t limit) override {
        return read("list allocations", [&](sqlite_connection& c) {
            // Every row's key is above this one: from_us >= open_start and
            // to_us > from_us.
            allocation_key start{open_start, open_start, 0};
            if (after) {
                auto key = key_of(c, resource_id, *after);
                if (!key) throw invalid_field("after", "unknown allocation id");
                start = *key;
            }
            std::vector<allocation> page;
            if (limit == 0) return page;

            const interval window = filter.window.value_or(interval{open_start, open_end});
            if (window.from != open_start) {
                // Skip what ends before the window with one seek instead of
                // filtering it row by row: the first allocation ending after
                // window.from is the first one of the listing order that can
                // overlap the window (allocations do not overlap, so end
                // order is start order).
                auto& seek = c.query<q::first_ending_after>();
                seek.resource_id = resource_id;
                seek.after = window.from;
                seek.self.clear();
                seek.st.execute(true);
                if (!seek.st.got_data()) return page;
                start = std::max(start, allocation_key{seek.from_us, seek.to_us, seek.seq - 1});
            }

            auto& l = c.query<q::list_allocations>();
            l.resource_id = resource_id;
            std::tie(l.after_from, l.after_to, l.after_seq) = start;
            l.window_from = window.from;
            l.window_to = window.to;
            l.type_ind = filter.allocation_type ? soci::i_ok : soci::i_null;
            l.type = filter.allocation_type.value_or(std::string());
            l.limit = q::sql_limit(limit);
            l.st.execute();
            while (l.st.fetch()) page.push_back(l.row.value());
            return page;
        });
    }

    void update_allocation(const allocation& a) override {
        write("update allocation", [&](sqlite_connection& c) {
            if (!key_of(c, a.resource_id, a.id)) throw allocation_not_found();
            refuse_overlap(c, a);
            auto& up = c.query<q::update_allocation>();
            up.set(a);
            up.st.execute(true);
        });
    }

    void delete_allocation(std::string_view resource_id, std::string_view id) override {
        write("delete allocation", [&](sqlite_connection& c) {
            auto& del = c.query<q::delete_allocation>();
            del.id = id;
            del.resource_id = resource_id;
            del.st.execute(true);
            if (del.st.get_affected_rows() == 0) throw allocation_not_found();
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

  private:
    write_lock::deadline deadline() const {
        return std::chrono::steady_clock::now() +
               std::chrono::milliseconds(options_.busy_timeout_ms);
    }

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
    // BEGIN IMMEDIATE (SOCI's begin() sends a deferred BEGIN, which fails
    // without waiting when it meets another writer) and COMMIT, rolled back
    // on any exception.
    template <class Work>
    void write(std::string_view operation, Work&& work) {
        try {
            const auto until = deadline();
            if (!lock_.try_lock_until(until)) throw database_busy();
            struct unlock_at_exit {
                write_lock& lock;
                ~unlock_at_exit() { lock.unlock(); }
            } unlock{lock_};

            auto c = pool_.acquire(until);
            c->query<q::begin_immediate>().run();
            try {
                work(*c);
                // Pending reads would hold the snapshot open past COMMIT.
                c->finish_statements();
                c->query<q::commit>().run();
            } catch (...) {
                roll_back(c);
                throw;
            }
        } catch (...) {
            rethrow_as_error(operation);
        }
    }

    static void roll_back(sqlite_pool::lease& c) noexcept {
        try {
            // Some errors (I/O, disk full) end the transaction by themselves.
            if (!c->in_transaction()) return;
            c->finish_statements();
            c->query<q::rollback>().run();
        } catch (...) {
            c.discard();  // closing the connection rolls back
        }
    }

    static std::optional<long long> resource_seq(sqlite_connection& c, std::string_view type,
                                                 std::string_view id) {
        auto& s = c.query<q::resource_seq>();
        s.id = id;
        s.type = type;
        s.st.execute(true);
        if (!s.st.got_data()) return std::nullopt;
        return s.seq;
    }

    static std::optional<allocation_key> key_of(sqlite_connection& c, std::string_view resource_id,
                                                std::string_view id) {
        auto& k = c.query<q::allocation_key>();
        k.id = id;
        k.resource_id = resource_id;
        k.st.execute(true);
        if (!k.st.got_data()) return std::nullopt;
        return allocation_key{k.from_us, k.to_us, k.seq};
    }

    store_options options_;
    write_lock lock_;
    sqlite_pool pool_;
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
