#include "storage/postgresql_store.hpp"

#include <stdexcept>

#ifndef INVSYS_HAVE_POSTGRESQL

namespace invsys {

std::unique_ptr<store> open_postgresql_store(const std::string&, const store_options&) {
    throw std::runtime_error("this build of invsys has no PostgreSQL backend");
}

}  // namespace invsys

#else

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "error/error.hpp"
#include "storage/error_mapping.hpp"
#include "storage/postgresql_connection.hpp"
#include "storage/postgresql_migrations.hpp"
#include "storage/postgresql_pool.hpp"

namespace invsys {
namespace {

namespace q = postgresql_queries;

// How many times one operation runs when PostgreSQL answers with a
// deadlock or a serialization failure (or when the rows a conflict should
// name are gone by the time we look), before the client gets a 503.
constexpr int max_attempts = 5;

// Conflict bodies list at most this many ids; the detail gives the count.
constexpr std::size_t max_conflict_ids = 100;

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

error resource_not_found() { return error(error_code::not_found, "resource not found"); }
error allocation_not_found() {
    return error(error_code::not_found, "allocation not found");
}

std::string plural(long long n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

error conflict(std::string detail, std::vector<std::string> ids) {
    error failure(error_code::conflict, std::move(detail));
    failure.conflicts = std::move(ids);
    return failure;
}

// PostgreSQL text cannot hold a NUL character, and libpq would cut a
// parameter at the first one: refuse such text rather than store less.
// No stored key contains one, so a key that does names nothing.
bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

void refuse_nul(std::string_view text, const char* field) {
    if (has_nul(text)) throw invalid_field(field, "must not contain NUL characters");
}

void refuse_nul(const resource& r) {
    refuse_nul(r.resource_type, "resource_type");
    refuse_nul(r.name, "name");
    refuse_nul(r.attributes_json, "attributes");
}

void refuse_nul(const allocation& a) {
    refuse_nul(a.allocation_type, "allocation_type");
    if (a.description) refuse_nul(*a.description, "description");
    if (a.dump_json) refuse_nul(*a.dump_json, "dump");
}

// Between two attempts: a short random pause, longer each time, so that
// the transactions that collided do not collide again at once.
void pause_before_retry(int attempt) {
    thread_local std::minstd_rand random{std::random_device{}()};
    const int ceiling_us = 1000 << std::min(attempt, 5);
    std::uniform_int_distribution<int> pause(ceiling_us / 4, ceiling_us);
    std::this_thread::sleep_for(std::chrono::microseconds(pause(random)));
}

// A position in the listing order of allocations.
using allocation_key = std::tuple<long long, long long, long long>;  // from_us, to_us, seq

class postgresql_store final : public store {
  public:
    postgresql_store(const std::string& conninfo, const store_options& options)
        : options_(options), pool_(conninfo, options.busy_timeout_ms, options.connections) {}

    void migrate() override {
        run("migrate",
            [](postgresql_connection& c) { apply_postgresql_migrations(c.session(), now_us()); });
    }

    void ping() override {
        try {
            run("ping", [](postgresql_connection& c) {
                c.query<q::ping>().run();
                return 0;
            });
        } catch (const error& e) {
            if (e.code() == error_code::unavailable) throw;
            throw database_unavailable();
        }
    }

    std::string backend() const override { return "postgresql"; }

    // --- resources -----------------------------------------------------------

    void insert_resource(const resource& r) override {
        refuse_nul(r);
        if (has_nul(r.id)) throw invalid_field("id", "must not contain NUL characters");
        run("insert resource", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& ins = c.query<q::insert_resource>();
                ins.in =
                    q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, r.created_us};
                ins.st.execute(true);
                if (ins.st.got_data()) return;  // inserted
                refuse_taken_name(c, r, attempt == max_attempts);
            }
        });
    }

    std::optional<resource> find_resource(std::string_view type, std::string_view id) override {
        if (has_nul(type) || has_nul(id)) return std::nullopt;
        return run("find resource", [&](postgresql_connection& c) -> std::optional<resource> {
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
        if (after && has_nul(*after)) throw invalid_field("after", "unknown id");
        if (has_nul(type)) return {};
        return run("list resources", [&](postgresql_connection& c) {
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
        if (has_nul(r.id) || has_nul(r.resource_type)) throw resource_not_found();
        refuse_nul(r);
        run("update resource", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& up = c.query<q::update_resource>();
                up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
                try {
                    up.st.execute(true);
                    if (up.st.get_affected_rows() == 1) return;
                    if (!resource_seq(c, r.resource_type, r.id)) throw resource_not_found();
                } catch (...) {
                    // The name taken by a concurrent writer.
                    if (current_postgresql_failure() != postgresql_failure::unique_violation) throw;
                    c.forget_failed_statement();
                }
                refuse_taken_name(c, r, attempt == max_attempts);
            }
        });
    }

    void delete_resource(std::string_view type, std::string_view id, bool force,
                         std::int64_t now) override {
        if (has_nul(type) || has_nul(id)) throw resource_not_found();
        run("delete resource", [&](postgresql_connection& c) {
            soci::transaction transaction(c.session());
            // Locked until COMMIT: a concurrent allocation insert (whose
            // foreign key check needs a key-share lock on this row) cannot
            // slip in between the check below and the delete.
            auto& lock = c.query<q::lock_resource>();
            lock.id = id;
            lock.type = type;
            lock.st.execute(true);
            if (!lock.st.got_data()) throw resource_not_found();
            if (!force) refuse_current_allocations(c, id, now);
            auto& del = c.query<q::delete_resource>();
            del.id = id;
            del.st.execute(true);
            transaction.commit();
        });
    }

    // --- allocations ---------------------------------------------------------

    void insert_allocation(const allocation& a) override {
        refuse_backwards(a);
        refuse_nul(a);
        if (has_nul(a.resource_id)) throw resource_not_found();
        if (has_nul(a.id)) throw invalid_field("id", "must not contain NUL characters");
        run("insert allocation", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& ins = c.query<q::insert_allocation>();
                ins.set(a);
                ins.st.execute(true);
                if (ins.found == 0) throw resource_not_found();
                if (ins.inserted == 1) return;
                refuse_overlap(c, a, attempt == max_attempts);
            }
        });
    }

    std::optional<allocation> find_allocation(std::string_view resource_id,
                                              std::string_view id) override {
        if (has_nul(resource_id) || has_nul(id)) return std::nullopt;
        return run("find allocation", [&](postgresql_connection& c) -> std::optional<allocation> {
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
        if (after && (has_nul(*after) || has_nul(resource_id)))
            throw invalid_field("after", "unknown allocation id");
        if (has_nul(resource_id)) return {};
        if (filter.allocation_type && has_nul(*filter.allocation_type)) return {};
        return run("list allocations", [&](postgresql_connection& c) {
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
                // filtering it row by row (see postgresql_sql::first_ending_after).
                auto& seek = c.query<q::first_ending_after>();
                seek.resource_id = resource_id;
                seek.after = window.from;
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
        if (has_nul(a.resource_id) || has_nul(a.id)) throw allocation_not_found();
        refuse_backwards(a);
        refuse_nul(a);
        run("update allocation", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                try {
                    auto& up = c.query<q::update_allocation>();
                    up.set(a);
                    up.st.execute(true);
                    if (up.st.get_affected_rows() == 1) return;
                    if (!key_of(c, a.resource_id, a.id)) throw allocation_not_found();
                } catch (...) {
                    // A row committed by a writer that did not take the lock.
                    if (current_postgresql_failure() != postgresql_failure::exclusion_violation)
                        throw;
                    c.forget_failed_statement();
                }
                refuse_overlap(c, a, attempt == max_attempts);
            }
        });
    }

    void delete_allocation(std::string_view resource_id, std::string_view id) override {
        if (has_nul(resource_id) || has_nul(id)) throw allocation_not_found();
        run("delete allocation", [&](postgresql_connection& c) {
            auto& del = c.query<q::delete_allocation>();
            del.id = id;
            del.resource_id = resource_id;
            del.st.execute(true);
            if (del.st.get_affected_rows() == 0) throw allocation_not_found();
        });
    }

  private:
    std::chrono::steady_clock::time_point deadline() const {
        return std::chrono::steady_clock::now() +
               std::chrono::milliseconds(options_.busy_timeout_ms);
    }

    // Runs `work` on a pooled connection, again (up to max_attempts in all)
    // when PostgreSQL reports a deadlock or a serialization failure: `work`
    // is one statement in autocommit mode, or one transaction of its own
    // that it rolls back on failure, so running it again is safe. Every
    // other failure goes through the error mapping.
    template <class Work>
    auto run(std::string_view operation, Work&& work)
        -> std::invoke_result_t<Work&, postgresql_connection&> {
        for (int attempt = 1;; ++attempt) {
            try {
                auto c = pool_.acquire(deadline());
                try {
                    return work(*c);
                } catch (const error&) {
                    throw;
                } catch (...) {
                    if (c->broken()) {
                        // The server is gone or restarted: so are, most
                        // likely, the other idle connections.
                        c.discard();
                        pool_.discard_idle();
                    } else {
                        c->forget_failed_statement();
                    }
                    throw;
                }
            } catch (...) {
                if (attempt < max_attempts &&
                    current_postgresql_failure() == postgresql_failure::transient) {
                    pause_before_retry(attempt);
                    continue;
                }
                rethrow_as_error(operation);
            }
        }
    }

    static void refuse_backwards(const allocation& a) {
        if (!(a.from_us < a.to_us)) {
            throw error(error_code::invalid, "an allocation must end after it starts");
        }
    }

    // After the name was found taken: throws the conflict naming its
    // holder. Returns when the holder is gone by now (the write may be
    // tried again), unless `last`.
    static void refuse_taken_name(postgresql_connection& c, const resource& r, bool last) {
        auto& h = c.query<q::name_holder>();
        h.type = r.resource_type;
        h.name = r.name;
        h.self = r.id;
        h.st.execute(true);
        std::vector<std::string> ids;
        if (h.st.got_data())
            ids.push_back(h.id);
        else if (!last)
            return;
        throw conflict("a " + r.resource_type + " named '" + r.name + "' exists already",
                       std::move(ids));
    }

    // After PostgreSQL refused `a` with exclusion_violation: throws the
    // conflict naming the allocations in the way (a fresh statement, after
    // the failed one was rolled back). Returns when none is left by now
    // (the write may be tried again), unless `last`.
    static void refuse_overlap(postgresql_connection& c, const allocation& a, bool last) {
        auto& o = c.query<q::overlapping>();
        o.resource_id = a.resource_id;
        o.self = a.id;
        o.from = a.from_us;
        o.to = a.to_us;
        o.limit = q::sql_limit(max_conflict_ids);
        o.st.execute();
        std::vector<std::string> ids;
        long long total = 0;
        while (o.st.fetch()) {
            ids.push_back(o.id);
            total = o.total;
        }
        if (ids.empty() && !last) return;
        throw conflict("allocation overlaps " + plural(total, "existing allocation"),
                       std::move(ids));
    }

    // "resource has N current or future allocation(s)": those ending after `now`.
    static void refuse_current_allocations(postgresql_connection& c, std::string_view resource_id,
                                           std::int64_t now) {
        auto& current = c.query<q::ending_after>();
        current.resource_id = resource_id;
        current.now = now;
        current.limit = q::sql_limit(max_conflict_ids);
        current.st.execute();
        std::vector<std::string> ids;
        long long total = 0;
        while (current.st.fetch()) {
            ids.push_back(current.id);
            total = current.total;
        }
        if (ids.empty()) return;
        throw conflict("resource has " + plural(total, "current or future allocation"),
                       std::move(ids));
    }

    static std::optional<long long> resource_seq(postgresql_connection& c, std::string_view type,
                                                 std::string_view id) {
        auto& s = c.query<q::resource_seq>();
        s.id = id;
        s.type = type;
        s.st.execute(true);
        if (!s.st.got_data()) return std::nullopt;
        return s.seq;
    }

    static std::optional<allocation_key> key_of(postgresql_connection& c,
                                                std::string_view resource_id, std::string_view id) {
        auto& k = c.query<q::allocation_key>();
        k.id = id;
        k.resource_id = resource_id;
        k.st.execute(true);
        if (!k.st.got_data()) return std::nullopt;
        return allocation_key{k.from_us, k.to_us, k.seq};
    }

    store_options options_;
    postgresql_pool pool_;
};

// libpq takes a fallback_application_name, so that pg_stat_activity names
// invsys unless the URL names something else.
std::string with_application_name(const std::string& conninfo) {
    if (conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://")) {
        std::string separator = conninfo.find('?') == std::string::npos ? "?" : "&";
        if (conninfo.ends_with('?') || conninfo.ends_with('&')) separator.clear();
        return conninfo + separator + "fallback_application_name=invsys";
    }
    return conninfo + " fallback_application_name=invsys";
}

}  // namespace

std::unique_ptr<store> open_postgresql_store(const std::string& conninfo,
                                             const store_options& options) {
    if (conninfo.find_first_not_of(" \t") == std::string::npos) {
        throw std::runtime_error("postgresql: needs a connection string or URI");
    }
    return std::make_unique<postgresql_store>(with_application_name(conninfo), options);
}

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
