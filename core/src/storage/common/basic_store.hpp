// What a store does the same on every backend, written once: the reads,
// the listings with their keyset paging, deletes, the checks they share,
// migrate() and ping(). A backend derives from it (CRTP), describes itself
// in one backend_description, and supplies the rest:
//
//   R read(op, work)      runs work(Connection&) -> R on a pooled connection,
//                         failures through rethrow_as_error
//   void write(op, work)  one write, atomic in the backend's own way
//                         (default: read)
//   void transaction(op, work)      several statements in one transaction
//                                   (default: write)
//   void migration_transaction(work)  the transaction and lock migrations
//                                     need (default: transaction)
//
//   void rewrite_resource(c, r) / rewrite_allocation(c, a)
//                         inside a transaction, the row read and held:
//                         writes the changed row (its version + 1)
//   in_one_transaction    the joined transaction (store.hpp)
//
// and the writes whose strategy differs (insert and update of resources and
// allocations: check-then-write under SQLite's write lock, write-then-
// explain on PostgreSQL).
#pragma once

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "storage/common/audit_queries.hpp"
#include "storage/common/conflicts.hpp"
#include "storage/common/failure.hpp"
#include "storage/common/key_queries.hpp"
#include "storage/common/migrations.hpp"
#include "storage/common/paging.hpp"
#include "storage/common/queries.hpp"
#include "storage/store.hpp"
#include "time/timestamp.hpp"

namespace invsys {

// A backend as one row: what basic_store needs to know that is not SQL.
struct backend_description {
    const char* name;                               // "sqlite", "postgresql"
    const std::vector<migration>& (*migrations)();  // its schema files
    failure_classifier classify;                    // its exceptions, classified
};

template <class Backend, class Connection, class Sql>
class basic_store : public store {
  public:
    void migrate() override {
        std::vector<int> applied;
        self().migration_transaction([&](Connection& c) {
            applied = apply_pending_migrations(c.session(), description_.migrations(),
                                               Sql::create_version_table, now_micros());
        });
        log_applied_migrations(applied);
    }

    void ping() override {
        try {
            self().read("ping", [](Connection& c) {
                query<queries::ping>(c).run();
                return 0;
            });
        } catch (const error& e) {
            if (e.code() == error_code::unavailable) throw;
            throw database_unavailable();
        }
    }

    std::string backend() const override { return description_.name; }

    // --- resources -----------------------------------------------------------

    std::optional<resource> find_resource(std::string_view type, std::string_view id) override {
        return self().read("find resource", [&](Connection& c) -> std::optional<resource> {
            auto& f = query<queries::find_resource>(c);
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
        return self().read("list resources", [&](Connection& c) {
            long long after_seq = before_first_resource;
            if (after) {
                auto seq = resource_seq(c, type, *after);
                if (!seq) throw unknown_resource_cursor();
                after_seq = *seq;
            }
            std::vector<resource> page;
            if (limit == 0) return page;
            // No moves while it fills; the cap (the API's largest page) bounds
            // what a caller passing a huge limit reserves for nothing.
            page.reserve(std::min<std::size_t>(limit, 1000));
            auto& l = query<queries::list_resources>(c);
            l.type = type;
            l.after_seq = after_seq;
            l.limit = sql_limit(limit);
            l.st.execute();
            while (l.st.fetch()) page.push_back(l.row.value());
            return page;
        });
    }

    resource modify_resource(std::string_view type, std::string_view id,
                             const std::function<bool(resource&)>& change) override {
        resource stored;
        self().transaction("modify resource", [&](Connection& c) {
            auto& f = query<queries::find_resource_for_update>(c);
            f.id = id;
            f.type = type;
            f.st.execute(true);
            if (!f.st.got_data()) throw resource_not_found();
            stored = f.row.value();
            if (!change(stored)) return;
            self().rewrite_resource(c, stored);
            ++stored.version;
        });
        return stored;
    }

    void delete_resource(std::string_view type, std::string_view id, bool force, std::int64_t now,
                         const version_condition& expected) override {
        self().transaction("delete resource", [&](Connection& c) {
            // lock_resource holds the row until COMMIT where the backend's
            // writers do not queue on a lock of their own (PostgreSQL: an
            // allocation insert, whose foreign key check needs a key-share
            // lock on it, cannot slip in between the check and the delete).
            auto& lock = query<queries::lock_resource>(c);
            lock.id = id;
            lock.type = type;
            lock.st.execute(true);
            if (!lock.st.got_data()) throw resource_not_found();
            if (!expected.any) {
                auto& f = query<queries::find_resource>(c);
                f.id = id;
                f.type = type;
                f.st.execute(true);
                if (!f.st.got_data()) throw resource_not_found();
                if (!expected.holds(f.row.version)) throw stale_version(f.row.version);
            }
            if (!force) refuse_current_allocations(c, id, now);
            auto& del = query<queries::delete_resource>(c);
            del.id = id;
            del.st.execute(true);
        });
    }

    // --- allocations ---------------------------------------------------------

    std::optional<allocation> find_allocation(std::string_view resource_id,
                                              std::string_view id) override {
        return self().read("find allocation", [&](Connection& c) -> std::optional<allocation> {
            auto& f = query<queries::find_allocation>(c);
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
        return self().read("list allocations", [&](Connection& c) {
            allocation_key start = before_first_allocation;
            if (after) {
                auto key = key_of(c, resource_id, *after);
                if (!key) throw unknown_allocation_cursor();
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
                auto& seek = query<queries::first_ending_after>(c);
                seek.resource_id = resource_id;
                seek.after = window.from;
                seek.self.clear();
                seek.st.execute(true);
                if (!seek.st.got_data()) return page;
                start = std::max(start, allocation_key{seek.from_us, seek.to_us, seek.seq - 1});
            }

            auto& l = query<queries::list_allocations>(c);
            l.resource_id = resource_id;
            std::tie(l.after_from, l.after_to, l.after_seq) = start;
            l.window_from = window.from;
            l.window_to = window.to;
            l.type_ind = filter.allocation_type ? soci::i_ok : soci::i_null;
            l.type = filter.allocation_type.value_or(std::string());
            l.limit = sql_limit(limit);
            l.st.execute();
            while (l.st.fetch()) page.push_back(l.row.value());
            return page;
        });
    }

    allocation modify_allocation(std::string_view resource_id, std::string_view id,
                                 const std::function<bool(allocation&)>& change) override {
        allocation stored;
        self().transaction("modify allocation", [&](Connection& c) {
            stored = held_allocation(c, resource_id, id);
            if (!change(stored)) return;
            self().rewrite_allocation(c, stored);
            ++stored.version;
        });
        return stored;
    }

    void delete_allocation(std::string_view resource_id, std::string_view id,
                           const version_condition& expected) override {
        auto remove = [&](Connection& c) {
            auto& del = query<queries::delete_allocation>(c);
            del.id = id;
            del.resource_id = resource_id;
            del.st.execute(true);
            if (del.st.get_affected_rows() == 0) throw allocation_not_found();
        };
        if (expected.any) {
            self().write("delete allocation", remove);
            return;
        }
        self().transaction("delete allocation", [&](Connection& c) {
            const allocation stored = held_allocation(c, resource_id, id);
            if (!expected.holds(stored.version)) throw stale_version(stored.version);
            remove(c);
        });
    }

    // --- availability ----------------------------------------------------------

    std::vector<resource> list_available_resources(std::string_view type, interval window,
                                                   const std::optional<std::string>& after,
                                                   std::size_t limit) override {
        return self().read("list available resources", [&](Connection& c) {
            long long after_seq = before_first_resource;
            if (after) {
                auto seq = resource_seq(c, type, *after);
                if (!seq) throw unknown_resource_cursor();
                after_seq = *seq;
            }
            std::vector<resource> page;
            if (limit == 0) return page;
            auto& l = query<queries::available_resources>(c);
            l.type = type;
            l.after_seq = after_seq;
            l.from = window.from;
            l.to = window.to;
            l.limit = sql_limit(limit);
            l.st.execute();
            while (l.st.fetch()) page.push_back(l.row.value());
            return page;
        });
    }

    blocked_page blocked_ranges(std::string_view resource_id, interval window,
                                std::size_t limit) override {
        return self().read("list blocked ranges", [&](Connection& c) {
            auto& b = query<queries::blocked_in_window>(c);
            b.resource_id = resource_id;
            b.from = window.from;
            b.to = window.to;
            // One row more than asked for: whether it came tells whether
            // more follow. At most limit + 2 rows (the straddling one too).
            b.limit = sql_limit(limit) + 1;
            b.st.execute();
            blocked_page page;
            while (b.st.fetch()) page.ranges.push_back({b.blocked_from, b.blocked_to});
            // UNION ALL keeps its parts in order on both backends in
            // practice, but SQL does not promise it.
            std::sort(page.ranges.begin(), page.ranges.end(),
                      [](interval x, interval y) { return x.to < y.to; });
            if (page.ranges.size() > limit) {
                page.ranges.resize(limit);
                page.more = true;
            }
            return page;
        });
    }

    // --- idempotency keys ------------------------------------------------------

    claim_outcome claim_idempotency_key(const idempotency_claim& claim) override {
        claim_outcome outcome;
        self().transaction("claim idempotency key", [&](Connection& c) {
            auto& purge = query<queries::purge_idempotency_keys>(c);
            purge.cutoff = claim.forget_before_us;
            purge.limit = idempotency_purge_batch;
            purge.st.execute(true);
            // Twice at most: a key found past the retention (or released
            // meanwhile) is claimed afresh.
            for (int pass = 0; pass < 2; ++pass) {
                auto& ins = query<queries::insert_idempotency_key>(c);
                ins.scope = claim.scope;
                ins.key = claim.key;
                ins.fingerprint = claim.fingerprint;
                ins.owner = claim.owner;
                ins.lease_until = claim.lease_until_us;
                ins.created_us = claim.now_us;
                ins.st.execute(true);
                if (ins.st.get_affected_rows() == 1) {
                    outcome = {claim_result::claimed, {}};
                    return;
                }
                auto& f = query<queries::find_idempotency_key>(c);
                f.scope = claim.scope;
                f.key = claim.key;
                f.st.execute(true);
                if (!f.st.got_data()) continue;
                if (f.created_us < claim.forget_before_us) {
                    forget_idempotency_key(c, claim.scope, claim.key, nullptr);
                    continue;
                }
                if (f.fingerprint != claim.fingerprint) {
                    outcome = {claim_result::other_request, {}};
                } else if (f.status_ind == soci::i_ok) {
                    outcome = {claim_result::answered,
                               {f.status, f.headers_ind == soci::i_ok ? f.headers : std::string(),
                                f.body_ind == soci::i_ok ? f.body : std::string()}};
                } else if (f.lease_until >= claim.now_us) {
                    outcome = {claim_result::in_flight, {}};
                } else {
                    auto& take = query<queries::take_over_idempotency_key>(c);
                    take.scope = claim.scope;
                    take.key = claim.key;
                    take.owner = claim.owner;
                    take.lease_until = claim.lease_until_us;
                    take.st.execute(true);
                    outcome = {claim_result::claimed, {}};
                }
                return;
            }
            throw database_busy();  // the key keeps coming and going
        });
        return outcome;
    }

    void complete_idempotency_key(const std::string& scope, const std::string& key,
                                  const std::string& owner, const stored_answer& answer) override {
        self().write("complete idempotency key", [&](Connection& c) {
            auto& done = query<queries::complete_idempotency_key>(c);
            done.scope = scope;
            done.key = key;
            done.owner = owner;
            done.status = answer.status;
            done.headers = answer.headers;
            done.body = answer.body;
            done.st.execute(true);
            if (done.st.get_affected_rows() == 0) {
                throw error(error_code::conflict,
                            "this request's Idempotency-Key was taken over by a retry");
            }
        });
    }

    void release_idempotency_key(const std::string& scope, const std::string& key,
                                 const std::string& owner) override {
        self().write("release idempotency key",
                     [&](Connection& c) { forget_idempotency_key(c, scope, key, &owner); });
    }

    // --- the audit trail ---------------------------------------------------------

    void insert_audit_entry(const audit_entry& e) override {
        self().write("record audit entry",
                     [&](Connection& c) { query<queries::insert_audit_entry>(c).run(e); });
    }

    std::vector<audit_entry> list_audit(const audit_filter& filter,
                                        const std::optional<std::string>& after,
                                        std::size_t limit) override {
        return self().read("list audit entries", [&](Connection& c) {
            long long before_seq = std::numeric_limits<long long>::max();
            if (after) {
                auto seq = audit_queries::seq_of(c.session(), *after);
                if (!seq) throw invalid_field("after", "unknown audit entry id");
                before_seq = *seq;
            }
            if (limit == 0) return std::vector<audit_entry>{};
            return audit_queries::list(c.session(), filter, before_seq, limit);
        });
    }

    std::size_t prune_audit(std::int64_t before_us, std::size_t limit) override {
        std::size_t removed = 0;
        self().write("prune audit entries", [&](Connection& c) {
            removed = audit_queries::prune(c.session(), before_us, limit);
        });
        return removed;
    }

    // --- API keys --------------------------------------------------------------

    void insert_key(const api_key& k) override {
        self().write("insert key", [&](Connection& c) {
            if (!key_queries::insert(c.session(), k))
                throw error(error_code::conflict, "a key with this secret exists already");
        });
    }

    bool ensure_key(const api_key& k) override {
        bool inserted = false;
        self().transaction("ensure key", [&](Connection& c) {
            bool revoked = false;
            if (key_queries::find_by_hash(c.session(), k.secret_hash, revoked)) {
                key_queries::restore(c.session(), k.secret_hash, k.role);
            } else {
                inserted = key_queries::insert(c.session(), k);
            }
        });
        return inserted;
    }

    std::optional<api_key> find_key_by_hash(std::string_view hash) override {
        return self().read("find key", [&](Connection& c) -> std::optional<api_key> {
            bool revoked = false;
            auto found = key_queries::find_by_hash(c.session(), hash, revoked);
            if (revoked) return std::nullopt;
            return found;
        });
    }

    std::vector<api_key> list_keys(std::size_t limit) override {
        return self().read(
            "list keys", [&](Connection& c) { return key_queries::list_live(c.session(), limit); });
    }

    void revoke_key(std::string_view id, std::int64_t now_us) override {
        self().write("revoke key", [&](Connection& c) {
            if (!key_queries::revoke(c.session(), id, now_us))
                throw error(error_code::not_found, "no such key");
        });
    }

    void touch_key(std::string_view id, std::int64_t now_us) override {
        self().write("touch key",
                     [&](Connection& c) { key_queries::touch(c.session(), id, now_us); });
    }

    // --- how work runs: the defaults (see above) -------------------------------

    template <class Work>
    void write(std::string_view operation, Work&& work) {
        self().read(operation, std::forward<Work>(work));
    }

    template <class Work>
    void transaction(std::string_view operation, Work&& work) {
        self().write(operation, std::forward<Work>(work));
    }

    template <class Work>
    void migration_transaction(Work&& work) {
        self().transaction("migrate", std::forward<Work>(work));
    }

  protected:
    // Keys purged per claim: bounded work, and more than the keys one
    // claim adds, so the table does not outgrow the retention.
    static constexpr long long idempotency_purge_batch = 8;

    basic_store(const store_options& options, const backend_description& description)
        : options_(options), description_(description) {}

    template <template <class> class Query>
    static Query<Sql>& query(Connection& c) {
        return c.template query<Query<Sql>>();
    }

    std::chrono::steady_clock::time_point deadline() const {
        return std::chrono::steady_clock::now() +
               std::chrono::milliseconds(options_.busy_timeout_ms);
    }

    // Rethrows the exception in flight as error (see common/failure.hpp).
    [[noreturn]] void rethrow_as_error(std::string_view operation) const {
        invsys::rethrow_as_error(operation, description_.classify);
    }

    static std::optional<long long> resource_seq(Connection& c, std::string_view type,
                                                 std::string_view id) {
        auto& s = query<queries::resource_seq>(c);
        s.id = id;
        s.type = type;
        s.st.execute(true);
        if (!s.st.got_data()) return std::nullopt;
        return s.seq;
    }

    static std::optional<allocation_key> key_of(Connection& c, std::string_view resource_id,
                                                std::string_view id) {
        auto& k = query<queries::allocation_key>(c);
        k.id = id;
        k.resource_id = resource_id;
        k.st.execute(true);
        if (!k.st.got_data()) return std::nullopt;
        return allocation_key{k.from_us, k.to_us, k.seq};
    }

    // The allocation as stored, held until the transaction ends (after its
    // resource, in the order the allocation writers lock); not_found when
    // unknown or not on this resource.
    static allocation held_allocation(Connection& c, std::string_view resource_id,
                                      std::string_view id) {
        auto& lock = query<queries::lock_allocations_of>(c);
        lock.id = resource_id;
        lock.st.execute(true);
        if (!lock.st.got_data()) throw allocation_not_found();
        auto& f = query<queries::find_allocation_for_update>(c);
        f.id = id;
        f.resource_id = resource_id;
        f.st.execute(true);
        if (!f.st.got_data()) throw allocation_not_found();
        return f.row.value();
    }

    static error stale_version(std::int64_t version) {
        return error(
            error_code::precondition_failed,
            "the stored version (" + std::to_string(version) + ") is not one that If-Match names");
    }

    // Deletes (scope, key): an unanswered claim of *owner, or whatever is
    // there when owner is null.
    static void forget_idempotency_key(Connection& c, const std::string& scope,
                                       const std::string& key, const std::string* owner) {
        auto& forget = query<queries::forget_idempotency_key>(c);
        forget.scope = scope;
        forget.key = key;
        forget.owner_ind = owner != nullptr ? soci::i_ok : soci::i_null;
        forget.owner = owner != nullptr ? *owner : std::string();
        forget.st.execute(true);
    }

    // The resource other than r.id that holds r's name, if any.
    static std::optional<std::string> name_holder(Connection& c, const resource& r) {
        auto& h = query<queries::name_holder>(c);
        h.type = r.resource_type;
        h.name = r.name;
        h.self = r.id;
        h.st.execute(true);
        if (!h.st.got_data()) return std::nullopt;
        return h.id;
    }

    // Throws unknown_candidate unless every candidate is a resource of `type`.
    static void require_candidates(Connection& c, std::string_view type,
                                   const std::vector<std::string>& candidates) {
        for (const std::string& id : candidates)
            if (!resource_seq(c, type, id)) throw unknown_candidate(type, id);
    }

    // Whether the resource `id` is free for a's blocked range right now.
    static bool free_for(Connection& c, std::string_view id, const allocation& a) {
        auto& f = query<queries::resource_free>(c);
        f.id = id;
        f.from = blocked_from(a);
        f.to = blocked_to(a);
        f.st.execute(true);
        return f.st.got_data();
    }

    // "resource has N current or future allocation(s)": those ending after `now`.
    static void refuse_current_allocations(Connection& c, std::string_view resource_id,
                                           std::int64_t now) {
        auto& current = query<queries::ending_after>(c);
        current.resource_id = resource_id;
        current.now = now;
        current.limit = sql_limit(max_conflict_ids);
        capped_ids found = queries::fetch_ids(current);
        if (found.ids.empty()) return;
        if constexpr (!Sql::shape.rows_carry_total) {
            if (found.ids.size() == max_conflict_ids) {
                auto& count = query<queries::count_ending_after>(c);
                count.resource_id = resource_id;
                count.now = now;
                count.st.execute(true);
                found.total = count.count;
            }
        }
        throw current_allocations_conflict(std::move(found));
    }

    const store_options options_;
    const backend_description& description_;

  private:
    Backend& self() { return static_cast<Backend&>(*this); }
};

}  // namespace invsys
