#include "storage/postgresql/store.hpp"

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
#include <functional>
#include <invsys/log.hpp>
#include <optional>
#include <random>
#include <regex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "storage/common/basic_store.hpp"
#include "storage/common/pool.hpp"
#include "storage/postgresql/connection.hpp"
#include "storage/postgresql/migrations.hpp"
#include "storage/postgresql/stall_guard.hpp"

namespace invsys {
namespace {

namespace q = queries;

// How many times one operation runs when PostgreSQL answers with a
// deadlock or a serialization failure (or when the rows a conflict should
// name are gone by the time we look), before the client gets a 503.
constexpr int max_attempts = 5;

// "Book any free one" without candidates reads this many free resources
// at a time: enough for the usual few concurrent bookers of one interval,
// few enough that a page read is cheap.
constexpr long long any_free_batch = 16;

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

// The first connection, at open: a bad connection string or an unreachable
// server fails here, with libpq's reason (which names host, port and user,
// never the password).
std::unique_ptr<postgresql_connection> first_connection(const std::string& conninfo,
                                                        const store_options& o) {
    try {
        return std::make_unique<postgresql_connection>(conninfo, o.busy_timeout_ms,
                                                       o.statement_timeout_ms);
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("postgresql: ") + e.what());
    }
}

// Later connections: a failure is the server's unavailability (logged).
std::unique_ptr<postgresql_connection> another_connection(const std::string& conninfo,
                                                          const store_options& o) {
    try {
        return std::make_unique<postgresql_connection>(conninfo, o.busy_timeout_ms,
                                                       o.statement_timeout_ms);
    } catch (const std::exception& e) {
        log_error(std::string("storage: cannot connect to PostgreSQL: ") + e.what());
        throw database_unavailable();
    }
}

constexpr backend_description postgresql_backend{"postgresql", &postgresql_migrations,
                                                 &classify_postgresql_failure};

// Writes write first and explain after: PostgreSQL's constraints refuse
// what is taken, and the store then names what is in the way.
class postgresql_store final
    : public basic_store<postgresql_store, postgresql_connection, postgresql_sql> {
  public:
    postgresql_store(const std::string& conninfo, const store_options& options)
        : basic_store(options, postgresql_backend),
          // A second past the server's own statement_timeout: a server that
          // answers cancels the statement first (57014, busy).
          guard_(std::chrono::milliseconds(options.statement_timeout_ms + 1000)),
          pool_(
              options.open_lazily ? nullptr : first_connection(conninfo, options),
              [conninfo, options] { return another_connection(conninfo, options); },
              options.connections) {}

    // --- resources -----------------------------------------------------------

    void insert_resource(const resource& r) override {
        refuse_nul(r);
        if (has_nul(r.id)) throw invalid_field("id", "must not contain NUL characters");
        write("insert resource", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& ins = query<q::insert_resource>(c);
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
        return basic_store::find_resource(type, id);
    }

    std::vector<resource> list_resources(std::string_view type,
                                         const std::optional<std::string>& after,
                                         std::size_t limit) override {
        if (after && has_nul(*after)) throw unknown_resource_cursor();
        if (has_nul(type)) return {};
        return basic_store::list_resources(type, after, limit);
    }

    void update_resource(const resource& r) override {
        if (has_nul(r.id) || has_nul(r.resource_type)) throw resource_not_found();
        refuse_nul(r);
        write("update resource", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& up = query<q::update_resource>(c);
                up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
                try {
                    up.st.execute(true);
                    if (up.st.get_affected_rows() == 1) return;
                    if (!resource_seq(c, r.resource_type, r.id)) throw resource_not_found();
                } catch (...) {
                    // The name taken by a concurrent writer.
                    if (classify_postgresql_failure() != storage_failure::unique_violation) throw;
                    c.forget_failed_statement();
                }
                refuse_taken_name(c, r, attempt == max_attempts);
            }
        });
    }

    resource modify_resource(std::string_view type, std::string_view id,
                             const std::function<bool(resource&)>& change) override {
        if (has_nul(type) || has_nul(id)) throw resource_not_found();
        return basic_store::modify_resource(type, id, change);
    }

    // The row is held (FOR UPDATE): no other writer of it can come between
    // the NOT EXISTS test and the write but a new holder of the name, which
    // fails us with unique_violation (a conflict).
    static void rewrite_resource(postgresql_connection& c, const resource& r) {
        refuse_nul(r);
        auto& up = query<q::update_resource>(c);
        up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
        up.st.execute(true);
        if (up.st.get_affected_rows() == 1) return;
        refuse_taken_name(c, r, true);
    }

    void delete_resource(std::string_view type, std::string_view id, bool force, std::int64_t now,
                         const version_condition& expected) override {
        if (has_nul(type) || has_nul(id)) throw resource_not_found();
        basic_store::delete_resource(type, id, force, now, expected);
    }

    // --- allocations ---------------------------------------------------------

    void insert_allocation(const allocation& a) override {
        refuse_backwards(a);
        refuse_nul(a);
        if (has_nul(a.resource_id)) throw resource_not_found();
        if (has_nul(a.id)) throw invalid_field("id", "must not contain NUL characters");
        write("insert allocation", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                auto& ins = query<q::insert_allocation>(c);
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
        return basic_store::find_allocation(resource_id, id);
    }

    std::vector<allocation> list_allocations(std::string_view resource_id,
                                             const allocation_filter& filter,
                                             const std::optional<std::string>& after,
                                             std::size_t limit) override {
        if (after && (has_nul(*after) || has_nul(resource_id))) throw unknown_allocation_cursor();
        if (has_nul(resource_id)) return {};
        if (filter.allocation_type && has_nul(*filter.allocation_type)) return {};
        return basic_store::list_allocations(resource_id, filter, after, limit);
    }

    void update_allocation(const allocation& a) override {
        if (has_nul(a.resource_id) || has_nul(a.id)) throw allocation_not_found();
        refuse_backwards(a);
        refuse_nul(a);
        write("update allocation", [&](postgresql_connection& c) {
            for (int attempt = 1;; ++attempt) {
                try {
                    auto& up = query<q::update_allocation>(c);
                    up.set(a);
                    up.st.execute(true);
                    if (up.st.get_affected_rows() == 1) return;
                    if (!key_of(c, a.resource_id, a.id)) throw allocation_not_found();
                } catch (...) {
                    // A row committed by a writer that did not take the lock.
                    if (classify_postgresql_failure() != storage_failure::exclusion_violation)
                        throw;
                    c.forget_failed_statement();
                }
                refuse_overlap(c, a, attempt == max_attempts);
            }
        });
    }

    allocation modify_allocation(std::string_view resource_id, std::string_view id,
                                 const std::function<bool(allocation&)>& change) override {
        if (has_nul(resource_id) || has_nul(id)) throw allocation_not_found();
        return basic_store::modify_allocation(resource_id, id, change);
    }

    // Its resource is held (FOR NO KEY UPDATE), as every allocation writer
    // holds it: the overlap test of the update meets only committed rows.
    static void rewrite_allocation(postgresql_connection& c, const allocation& a) {
        refuse_backwards(a);
        refuse_nul(a);
        auto& up = query<q::update_allocation>(c);
        up.set(a);
        up.st.execute(true);
        if (up.st.get_affected_rows() == 1) return;
        refuse_overlap(c, a, true);
    }

    void delete_allocation(std::string_view resource_id, std::string_view id,
                           const version_condition& expected) override {
        if (has_nul(resource_id) || has_nul(id)) throw allocation_not_found();
        basic_store::delete_allocation(resource_id, id, expected);
    }

    claim_outcome claim_idempotency_key(const idempotency_claim& claim) override {
        if (has_nul(claim.scope) || has_nul(claim.key))
            throw invalid_field("Idempotency-Key", "must not contain NUL characters");
        return basic_store::claim_idempotency_key(claim);
    }

    // --- availability --------------------------------------------------------

    std::vector<resource> list_available_resources(std::string_view type, interval window,
                                                   const std::optional<std::string>& after,
                                                   std::size_t limit) override {
        if (after && has_nul(*after)) throw unknown_resource_cursor();
        if (has_nul(type)) return {};
        return basic_store::list_available_resources(type, window, after, limit);
    }

    blocked_page blocked_ranges(std::string_view resource_id, interval window,
                                std::size_t limit) override {
        if (has_nul(resource_id)) return {};
        return basic_store::blocked_ranges(resource_id, window, limit);
    }

    // Each candidate is tried with the insert of insert_allocation (which
    // takes its resource's row lock, so writers of one resource take turns,
    // and which the exclusion constraint refuses when it is taken): a
    // refusal moves on to the next candidate, and nothing is written but
    // the one insert that succeeds. Without candidates, the free resources
    // of the type are read a few at a time (availability's query) and
    // tried in that order; one taken meanwhile is refused by its insert.
    std::string insert_allocation_on_first_free(
        const allocation& a, std::string_view type,
        const std::vector<std::string>& candidates) override {
        refuse_backwards(a);
        refuse_nul(a);
        if (has_nul(type)) throw no_free_candidate(candidates.size());
        for (const std::string& id : candidates)
            if (has_nul(id)) throw unknown_candidate(type, id);
        if (has_nul(a.id)) throw invalid_field("id", "must not contain NUL characters");
        std::string chosen;
        read("book any free one", [&](postgresql_connection& c) {
            require_candidates(c, type, candidates);
            return 0;
        });
        const auto try_insert = [&](const std::string& id) {
            allocation booked = a;
            booked.resource_id = id;
            bool inserted = false;
            write("book any free one", [&](postgresql_connection& c) {
                auto& ins = query<q::insert_allocation>(c);
                ins.set(booked);
                ins.st.execute(true);
                inserted = ins.inserted == 1;
            });
            if (inserted) chosen = id;
            return inserted;
        };
        if (!candidates.empty()) {
            for (const std::string& id : candidates)
                if (try_insert(id)) return chosen;
            throw no_free_candidate(candidates.size());
        }
        long long after_seq = before_first_resource;
        for (;;) {
            std::vector<std::pair<std::string, long long> > batch;
            read("book any free one", [&](postgresql_connection& c) {
                auto& free = query<q::available_resource_ids>(c);
                free.type = type;
                free.after_seq = after_seq;
                free.from = blocked_from(a);
                free.to = blocked_to(a);
                free.limit = any_free_batch;
                free.st.execute();
                batch.clear();
                while (free.st.fetch()) batch.emplace_back(free.id, free.seq);
                return 0;
            });
            if (batch.empty()) throw no_free_candidate(0);
            for (const auto& [id, seq] : batch) {
                if (try_insert(id)) return chosen;
                after_seq = seq;
            }
        }
    }

    // --- how work runs (see basic_store) ---------------------------------------

    // Runs `work` on a pooled connection, again (up to max_attempts in all)
    // when PostgreSQL reports a deadlock or a serialization failure: `work`
    // is one statement in autocommit mode, or one transaction of its own
    // that it rolls back on failure, so running it again is safe. Every
    // other failure goes through the error mapping.
    //
    // Inside in_one_transaction(): on its connection, once; a failure other
    // than error is left as it is for in_one_transaction to judge (a retry
    // runs the whole transaction again).
    template <class Work>
    auto read(std::string_view operation, Work&& work)
        -> std::invoke_result_t<Work&, postgresql_connection&> {
        if (joined_transaction* joined = joined_here()) {
            postgresql_connection& c = joined->connection();
            try {
                return work(c);
            } catch (const error&) {
                throw;
            } catch (...) {
                if (!c.broken()) c.forget_failed_statement();
                throw;
            }
        }
        for (int attempt = 1;; ++attempt) {
            try {
                auto c = pool_.acquire(deadline());
                try {
                    const auto armed = guard_.arm(c->socket());
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
                    classify_postgresql_failure() == storage_failure::retryable) {
                    pause_before_retry(attempt);
                    continue;
                }
                rethrow_as_error(operation);
            }
        }
    }

    // write(): read(), the default. One statement in autocommit mode: one
    // transaction, one commit.

    template <class Work>
    void transaction(std::string_view operation, Work&& work) {
        if (joined_here() != nullptr) {
            read(operation, std::forward<Work>(work));
            return;
        }
        read(operation, [&](postgresql_connection& c) {
            soci::transaction transaction(c.session());
            work(c);
            transaction.commit();
        });
    }

    // Under the lock, a schema_migrations another process created
    // meanwhile is seen.
    template <class Work>
    void migration_transaction(Work&& work) {
        transaction("migrate", [&](postgresql_connection& c) {
            const long long key = postgresql_migration_lock_key;
            c.session() << postgresql_sql::lock_migrations, soci::use(key, "key");
            work(c);
        });
    }

    // The connection is taken and BEGIN sent at the body's first statement.
    void in_one_transaction(std::string_view operation,
                            const std::function<void()>& body) override {
        // Nested (the booking layer's own transaction inside an idempotent
        // request's): the inner body joins the outer transaction.
        if (joined_here() != nullptr) {
            body();
            return;
        }
        if (joined_ != nullptr) throw std::logic_error("in_one_transaction on two stores at once");
        for (int attempt = 1;; ++attempt) {
            try {
                joined_transaction joined(*this);
                body();
                if (joined.c) {
                    (*joined.c)->session().commit();
                    joined.open = false;
                }
                return;
            } catch (const error&) {
                throw;
            } catch (...) {
                if (attempt < max_attempts &&
                    classify_postgresql_failure() == storage_failure::retryable) {
                    pause_before_retry(attempt);
                    continue;
                }
                rethrow_as_error(operation);
            }
        }
    }

  private:
    using lease = connection_pool<postgresql_connection>::lease;

    // The transaction in_one_transaction() runs on this thread: begun by
    // the first statement of its body, joined by all the others, rolled
    // back when it ends uncommitted.
    struct joined_transaction {
        postgresql_store& owner;
        std::optional<lease> c;
        bool open = false;

        explicit joined_transaction(postgresql_store& s) : owner(s) { joined_ = this; }
        ~joined_transaction() {
            joined_ = nullptr;
            if (!c) return;
            if ((*c)->broken()) {
                c->discard();
                owner.pool_.discard_idle();
                return;
            }
            if (!open) return;
            try {
                (*c)->session().rollback();
            } catch (...) {
                c->discard();
            }
        }
        joined_transaction(const joined_transaction&) = delete;
        joined_transaction& operator=(const joined_transaction&) = delete;

        postgresql_connection& connection() {
            if (!c) {
                c.emplace(owner.pool_.acquire(owner.deadline()));
                (*c)->session().begin();
                open = true;
            }
            return **c;
        }
    };
    static inline thread_local joined_transaction* joined_ = nullptr;

    joined_transaction* joined_here() const noexcept {
        return joined_ != nullptr && &joined_->owner == this ? joined_ : nullptr;
    }

    // After the name was found taken: throws the conflict naming its
    // holder. Returns when the holder is gone by now (the write may be
    // tried again), unless `last`.
    static void refuse_taken_name(postgresql_connection& c, const resource& r, bool last) {
        const std::optional<std::string> holder = name_holder(c, r);
        if (!holder && !last) return;
        std::vector<std::string> ids;
        if (holder) ids.push_back(*holder);
        throw taken_name_conflict(r, std::move(ids));
    }

    // After PostgreSQL refused `a`: throws the conflict naming the
    // allocations in the way (a fresh statement, after the failed one was
    // rolled back). Returns when none is left by now (the write may be
    // tried again), unless `last`.
    static void refuse_overlap(postgresql_connection& c, const allocation& a, bool last) {
        auto& o = query<q::overlapping>(c);
        o.range.set(a);
        o.limit = sql_limit(max_conflict_ids);
        capped_ids found = q::fetch_ids(o);
        if (found.ids.empty() && !last) return;
        throw overlap_conflict(std::move(found));
    }

    stall_guard guard_;
    connection_pool<postgresql_connection> pool_;
};

// Appends `key=value` to a libpq URI or keyword/value string.
std::string with_parameter(const std::string& conninfo, const std::string& key,
                           const std::string& value) {
    if (conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://")) {
        std::string separator = conninfo.find('?') == std::string::npos ? "?" : "&";
        if (conninfo.ends_with('?') || conninfo.ends_with('&')) separator.clear();
        std::string out = conninfo;
        out.append(separator).append(key).append("=").append(value);
        return out;
    }
    std::string out = conninfo;
    out.append(" ").append(key).append("=").append(value);
    return out;
}

// True when the URL or string sets `key` itself (libpq takes the last one
// given: ours must not replace it).
bool names_parameter(const std::string& conninfo, const std::string& key) {
    const std::regex given("(^|[\\s?&:])" + key + "\\s*=");
    return std::regex_search(conninfo, given);
}

// libpq takes a fallback_application_name, so that pg_stat_activity names
// invsys unless the URL names something else; and the timeouts that keep a
// stalled or unreachable server from hanging a request (unless the URL
// sets them): connect_timeout for opening a connection, TCP keepalives for
// a connection whose peer vanished while idle, tcp_user_timeout for one
// whose sent data is never acknowledged.
std::string with_defaults(const std::string& conninfo, const store_options& o) {
    std::string out = with_parameter(conninfo, "fallback_application_name", "invsys");
    const std::pair<std::string, std::string> defaults[] = {
        {"connect_timeout", std::to_string(o.connect_timeout_s)},
        {"keepalives", "1"},
        {"keepalives_idle", std::to_string(o.keepalives_idle_s)},
        {"keepalives_interval", "3"},
        {"keepalives_count", "3"},
        {"tcp_user_timeout", std::to_string(o.tcp_user_timeout_ms)},
    };
    for (const auto& [key, value] : defaults) {
        if (!names_parameter(conninfo, key)) out = with_parameter(out, key, value);
    }
    return out;
}

}  // namespace

std::unique_ptr<store> open_postgresql_store(const std::string& conninfo,
                                             const store_options& options) {
    if (conninfo.find_first_not_of(" \t") == std::string::npos) {
        throw std::runtime_error("postgresql: needs a connection string or URI");
    }
    return std::make_unique<postgresql_store>(with_defaults(conninfo, options), options);
}

}  // namespace invsys

#endif  // INVSYS_HAVE_POSTGRESQL
