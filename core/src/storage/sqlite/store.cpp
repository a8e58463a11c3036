#include "storage/sqlite/store.hpp"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <invsys/metrics.hpp>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "storage/common/basic_store.hpp"
#include "storage/common/pool.hpp"
#include "storage/sqlite/checkpointer.hpp"
#include "storage/sqlite/commit_groups.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/file_health.hpp"
#include "storage/sqlite/migrations.hpp"
#include "storage/sqlite/overlap_report.hpp"
#include "storage/sqlite/write_lock.hpp"

namespace invsys {
namespace {

namespace q = queries;

constexpr backend_description sqlite_backend{"sqlite", &sqlite_migrations,
                                             &classify_sqlite_failure};

// The WAL's length at which the checkpointer copies it into the database
// file: SQLite's own default for its automatic checkpoint (4 MiB of pages).
constexpr unsigned wal_checkpoint_frames = 1000;

// Writes check, then write, inside one transaction under the write lock:
// nothing can come between a check and its write.
class sqlite_store final : public basic_store<sqlite_store, sqlite_connection, sqlite_sql> {
  public:
    sqlite_store(const std::string& path, const store_options& options)
        : basic_store(options, sqlite_backend),
          path_(path),
          lock_(path + ".lock"),
          checkpointer_(path, lock_, options.busy_timeout_ms, wal_checkpoint_frames),
          pool_(
              std::make_unique<sqlite_connection>(path, options.busy_timeout_ms, options.cache_kib,
                                                  &checkpointer_),
              [this, path, timeout = options.busy_timeout_ms, cache_kib = options.cache_kib] {
                  // Only the first connection may create the file: a later
                  // one would make an empty database where the real one was
                  // removed, and answer from it.
                  if (::access(path.c_str(), F_OK) != 0) throw database_file_moved();
                  return std::make_unique<sqlite_connection>(path, timeout, cache_kib,
                                                             &checkpointer_);
              },
              options.connections),
          groups_(options.commit_group_max) {}

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
            rewrite_resource(c, r);
        });
    }

    static void rewrite_resource(sqlite_connection& c, const resource& r) {
        refuse_taken_name(c, r);
        auto& up = query<q::update_resource>(c);
        up.in = q::resource_row{r.id, r.resource_type, r.name, r.attributes_json, 0};
        up.st.execute(true);
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
            rewrite_allocation(c, a);
        });
    }

    // Migrates, then reports stored rows that overlap already (see
    // overlap_report.hpp: reported, not refused).
    void migrate() override {
        basic_store::migrate();
        report_stored_overlaps(read("check stored overlaps", [](sqlite_connection& c) {
            return find_stored_overlaps(c.session());
        }));
    }

    // Healthy when a real table can be read, the open file is still the one
    // at the path, and the file system would take a write. Each failure is
    // a 503 whose detail says which.
    void ping() override {
        try {
            auto c = pool_.acquire(deadline());
            if (c->file_moved()) {
                c.discard();  // a connection to the file now at the path replaces it
                throw database_file_moved();
            }
        } catch (...) {
            rethrow_as_error("health");
        }
        if (auto problem = database_file_problem(path_, health_min_free_bytes)) {
            throw error(error_code::unavailable, std::move(*problem));
        }
        basic_store::ping();
    }

    // Under the write lock nothing changes between the checks and the
    // insert: the first free candidate found is free when written.
    std::string insert_allocation_on_first_free(
        const allocation& a, std::string_view type,
        const std::vector<std::string>& candidates) override {
        refuse_backwards(a);
        std::string chosen;
        write("book any free one", [&](sqlite_connection& c) {
            require_candidates(c, type, candidates);
            if (candidates.empty()) {
                auto& first = query<q::available_resource_ids>(c);
                first.type = type;
                first.after_seq = before_first_resource;
                first.from = blocked_from(a);
                first.to = blocked_to(a);
                first.limit = 1;
                first.st.execute(true);
                if (first.st.got_data()) chosen = first.id;
            } else {
                for (const std::string& id : candidates) {
                    if (free_for(c, id, a)) {
                        chosen = id;
                        break;
                    }
                }
            }
            if (chosen.empty()) throw no_free_candidate(candidates.size());
            allocation booked = a;
            booked.resource_id = chosen;
            auto& ins = query<q::insert_allocation>(c);
            ins.set(booked);
            ins.st.execute(true);
        });
        return chosen;
    }

    static void rewrite_allocation(sqlite_connection& c, const allocation& a) {
        refuse_overlap(c, a);
        auto& up = query<q::update_allocation>(c);
        up.set(a);
        up.st.execute(true);
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
    // mode a reader never waits for the writer. Inside in_one_transaction(),
    // on its connection.
    template <class Work>
    auto read(std::string_view operation, Work&& work)
        -> std::invoke_result_t<Work&, sqlite_connection&> {
        try {
            if (joined_transaction* joined = joined_here()) return work(joined->connection());
            auto c = pool_.acquire(deadline());
            return work(*c);
        } catch (...) {
            rethrow_as_error(operation);
        }
    }

    // Runs `work` in one write transaction: under the write lock (this
    // process's writers and other processes' alike), between BEGIN
    // IMMEDIATE and COMMIT, undone on any exception — in a commit group
    // when other writers of this process queue with it (commit_groups.hpp:
    // inside a savepoint of its own, answered after the group's COMMIT).
    // Inside in_one_transaction(), as part of that transaction.
    template <class Work>
    void write(std::string_view operation, Work&& work) {
        if (joined_here() != nullptr) {
            read(operation, std::forward<Work>(work));
            return;
        }
        joined_transaction joined(*this);
        try {
            try {
                work(joined.connection());
            } catch (...) {
                // As an error already: a commit group's other writers may
                // be told of it too.
                std::rethrow_exception(joined.fail(current_as_error(operation)));
            }
            joined.commit(operation);
        } catch (...) {
            rethrow_as_error(operation);
        }
    }

    // transaction() and migration_transaction(): write(), the defaults.
    // Every write is a transaction already, and the write lock and
    // BEGIN IMMEDIATE serialise migrating processes.

    // The write lock (or a commit group's turn) is taken at the body's
    // first statement and held to COMMIT: what the body does before
    // (validation) does not hold up the other writers.
    void in_one_transaction(std::string_view operation,
                            const std::function<void()>& body) override {
        // Nested (the booking layer's own transaction inside an idempotent
        // request's): the inner body joins the outer transaction.
        if (joined_here() != nullptr) {
            body();
            return;
        }
        if (joined_ != nullptr) throw std::logic_error("in_one_transaction on two stores at once");
        joined_transaction joined(*this);
        try {
            body();
        } catch (...) {
            std::rethrow_exception(joined.fail(std::current_exception()));
        }
        joined.commit(operation);
    }

  private:
    using lease = connection_pool<sqlite_connection>::lease;

    // The transaction write() or in_one_transaction() runs on this thread:
    // entered at the first statement of its body (as a commit group's
    // leader, which takes the write lock and opens the transaction, or as
    // a member, which waits for its turn and opens its savepoint), joined
    // by all the others, then committed with the group or undone.
    struct joined_transaction {
        sqlite_store& owner;
        commit_groups::seat seat;
        bool entered = false;       // holds a seat, until commit() or fail()
        bool locked = false;        // the leader holds the write lock
        bool members_ran = false;   // the leader called run_members()
        std::optional<lease> c;     // the leader's connection: the group's
        joined_transaction* outer;  // another store's, on this thread

        explicit joined_transaction(sqlite_store& s) : owner(s), outer(joined_) { joined_ = this; }
        ~joined_transaction() {
            // Only when neither commit() nor fail() ran to the end, which
            // they always do; the seat must never be left held.
            if (entered) {
                if (!seat.leads()) {
                    owner.groups_.finish_turn(
                        seat, std::make_exception_ptr(std::logic_error("write abandoned")));
                } else if (members_ran) {
                    conclude_as_leader(
                        std::make_exception_ptr(std::logic_error("write abandoned")));
                } else {
                    abandon_as_leader();
                }
            }
            joined_ = outer;
        }
        joined_transaction(const joined_transaction&) = delete;
        joined_transaction& operator=(const joined_transaction&) = delete;

        sqlite_connection& connection() {
            if (!entered) enter();
            return seat.connection();
        }

        // The body returned: as leader, lets the queued members write, then
        // commits for them all; as member, ends its turn and waits for its
        // group's COMMIT. Throws (as error) when the write is not durable.
        void commit(std::string_view operation) {
            if (!entered) return;  // the body ran no statement
            if (!seat.leads()) {
                std::exception_ptr lost;
                sqlite_connection& shared = seat.connection();
                try {
                    shared.finish_statements();
                    query<q::release_savepoint>(shared).run();
                } catch (...) {
                    lost = owner.current_as_error(operation);  // its writes stay: no one may commit
                }
                entered = false;
                // A lost transaction fails the whole group: finish_turn
                // then returns that failure.
                if (auto failure = owner.groups_.finish_turn(seat, lost)) {
                    std::rethrow_exception(failure);
                }
                return;
            }
            (*c)->finish_statements();
            members_ran = true;
            std::exception_ptr failure = owner.groups_.run_members(seat);
            if (!failure && !(*c)->in_transaction()) {
                failure = std::make_exception_ptr(
                    error(error_code::unavailable, "the write transaction was lost"));
            }
            if (!failure) {
                try {
                    query<q::commit>(**c).run();
                } catch (...) {
                    failure = owner.current_as_error(operation);
                }
            }
            conclude_as_leader(failure);
            if (failure) std::rethrow_exception(failure);
        }

        // The body threw `e`: undoes what it wrote (a member: its savepoint
        // only; the leader, whose body runs before any member's: the whole
        // transaction, and its members write in a later group). Returns
        // what to throw: `e`, or the group's failure when the group's
        // COMMIT failed too.
        std::exception_ptr fail(std::exception_ptr e) {
            if (!entered) return e;
            if (seat.leads()) {
                abandon_as_leader();
                return e;
            }
            sqlite_connection& shared = seat.connection();
            std::exception_ptr lost;
            if (!shared.in_transaction()) {
                lost = e;  // the error ended the group's transaction itself
            } else {
                try {
                    shared.finish_statements();
                    query<q::rollback_to_savepoint>(shared).run();
                    query<q::release_savepoint>(shared).run();
                } catch (...) {
                    lost = owner.current_as_error("undo a write");  // its writes may stay
                }
            }
            entered = false;
            if (auto failure = owner.groups_.finish_turn(seat, lost)) return failure;
            return e;
        }

      private:
        void enter() {
            const auto until = owner.deadline();
            const auto asked = std::chrono::steady_clock::now();
            owner.groups_.enter(seat, until);  // a member returns at its turn
            entered = true;
            if (!seat.leads()) {
                count_wait(asked);
                try {
                    query<q::savepoint>(seat.connection()).run();
                } catch (...) {
                    entered = false;
                    owner.groups_.finish_turn(seat, nullptr);  // it wrote nothing
                    throw;
                }
                return;
            }
            try {
                locked = owner.lock_.try_lock_until(until);
                count_wait(asked);
                if (!locked) throw database_busy();
                c.emplace(owner.pool_.acquire(until));
                query<q::begin_immediate>(**c).run();
                // A write into a removed or replaced file would be lost.
                if ((*c)->file_moved()) {
                    roll_back(*c);
                    c->discard();
                    throw database_file_moved();
                }
            } catch (...) {
                abandon_as_leader();
                throw;
            }
            owner.groups_.opened(seat, **c);
        }

        // The leader's group ends before any member wrote (the lock was
        // not had, the transaction would not open, the leader's own body
        // failed): rolled back, and its queued members write in a later
        // group.
        void abandon_as_leader() noexcept {
            release_lock_and_connection();
            owner.groups_.abandon(seat);
        }

        // After run_members(): committed, or with `failure` not, and
        // everyone who wrote in the group is told so.
        void conclude_as_leader(std::exception_ptr failure) noexcept {
            release_lock_and_connection();
            const std::size_t writers = owner.groups_.conclude(seat, failure);
            metrics::count_commit_group(writers, failure == nullptr);
        }

        void release_lock_and_connection() noexcept {
            if (c) {
                roll_back(*c);  // a no-op once committed
                c.reset();
            }
            if (locked) owner.lock_.unlock();
            locked = false;
            entered = false;
        }

        static void count_wait(std::chrono::steady_clock::time_point asked) noexcept {
            metrics::add_write_lock_wait(
                static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now() - asked)
                                               .count()));
        }
    };
    static inline thread_local joined_transaction* joined_ = nullptr;

    // The exception being handled, as the error rethrow_as_error makes of it.
    std::exception_ptr current_as_error(std::string_view operation) const noexcept {
        try {
            rethrow_as_error(operation);
        } catch (...) {
            return std::current_exception();
        }
    }

    joined_transaction* joined_here() const noexcept {
        return joined_ != nullptr && &joined_->owner == this ? joined_ : nullptr;
    }

    static void roll_back(lease& c) noexcept {
        try {
            // Some errors (I/O, disk full) end the transaction by themselves,
            // and a committed one is over.
            if (!c->in_transaction()) return;
            c->finish_statements();
            query<q::rollback>(*c).run();
        } catch (...) {
            c.discard();  // closing the connection rolls back
        }
    }

    static error database_file_moved() {
        return error(error_code::unavailable,
                     "the database file was removed or replaced while in use; restart the service");
    }

    // Under the write lock the holder found is the one that stays.
    static void refuse_taken_name(sqlite_connection& c, const resource& r) {
        if (auto holder = name_holder(c, r)) throw taken_name_conflict(r, {*holder});
    }

    // Conflict when `a` overlaps another allocation of its resource (not
    // a.id itself). One index seek when free.
    static void refuse_overlap(sqlite_connection& c, const allocation& a) {
        refuse_backwards(a);  // to - 1 below must not overflow
        // The only candidate is the first blocked range ending after a's
        // blocked start (see sqlite_sql::first_blocked_ending_after): one
        // index seek.
        const std::int64_t from = blocked_from(a), to = blocked_to(a);
        auto& seek = query<q::first_blocked_ending_after>(c);
        seek.resource_id = a.resource_id;
        seek.self = a.id;
        seek.after = from;
        seek.st.execute(true);
        if (!seek.st.got_data() || seek.blocked_from_us >= to) return;

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
        seek.after = to - 1;
        seek.st.execute(true);
        if (seek.st.got_data() && seek.blocked_from_us < to) {
            ++found.total;
            if (found.ids.size() < max_conflict_ids) found.ids.push_back(seek.id);
        }
        throw overlap_conflict(std::move(found));
    }

    std::string path_;
    write_lock lock_;
    wal_checkpointer checkpointer_;  // outlives the pool's connections, which tell it of commits
    connection_pool<sqlite_connection> pool_;
    commit_groups groups_;
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
