// The storage interface: one implementation per backend (SQLite, the
// default; PostgreSQL for scale-out), chosen by the database URL. Everything that
// touches SOCI lives under storage/; database errors are mapped to
// error in exactly one place (storage/common/failure.cpp).
//
// Thread safety: a store is used by all threads of a worker at once; each
// implementation keeps its own connections and serialises what it must.
//
// Errors: methods throw error — not_found, conflict (with `conflicts`
// holding the ids in the way), invalid (an unknown `after` cursor, field
// "after"), unavailable (database busy or unreachable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interval/interval.hpp"
#include "model.hpp"

namespace invsys {

struct store_options {
    unsigned busy_timeout_ms = 5000;
    unsigned connections = 4;  // at most this many concurrent sessions
    // PostgreSQL only (config.hpp: pg_*).
    unsigned connect_timeout_s = 5;
    unsigned statement_timeout_ms = 10000;
    unsigned tcp_user_timeout_ms = 10000;
    unsigned keepalives_idle_s = 10;
    // PostgreSQL: open no connection until one is needed, so that an
    // unreachable server does not fail the opening (every use then fails
    // with error(unavailable) until it answers). For a worker started
    // while the server is down, after an earlier one migrated the schema.
    bool open_lazily = false;
    // SQLite only: writers of this process committed together, at most
    // (commit_groups.hpp); 1: each write alone.
    unsigned commit_group_max = 64;
    // SQLite only: page cache of each connection, in KiB (config.hpp:
    // sqlite_cache_kib).
    unsigned cache_kib = 2000;
};

struct allocation_filter {
    std::optional<interval> window;  // keep those overlapping this window
    std::optional<std::string> allocation_type;
};

// --- idempotency keys: what the store keeps (api/idempotency.hpp decides
// what they mean).

// A final answer as remembered: status, its headers as "name: value\n"
// lines, its body.
struct stored_answer {
    int status = 0;
    std::string headers;
    std::string body;
};

// Who asks to run a request under (scope, key), and the clock.
struct idempotency_claim {
    std::string scope, key;
    std::string fingerprint;  // what makes two requests the same one
    std::string owner;        // this attempt, unique
    std::int64_t now_us = 0;
    std::int64_t lease_until_us = 0;    // until when the claim holds if never answered
    std::int64_t forget_before_us = 0;  // keys created before this are forgotten
};

enum class claim_result {
    claimed,        // run the request; answer or release the key afterwards
    answered,       // the same request was answered: `answer`
    other_request,  // the key was used for another request
    in_flight,      // the same request is running, its claim unexpired
};

// --- the audit trail (audit/audit.hpp decides what is recorded; the
// entry itself is in model.hpp).

// Which entries a listing returns: all filters given must hold.
struct audit_filter {
    std::optional<std::string> resource_id;
    std::optional<std::string> entity_id;
    std::int64_t from_us = open_start;  // at_us >= from_us
    std::int64_t to_us = open_end;      // at_us < to_us
};

struct claim_outcome {
    claim_result result = claim_result::claimed;
    stored_answer answer;  // with answered
};

class store {
  public:
    virtual ~store() = default;

    // Opens `url`: `sqlite:<path>`, or PostgreSQL as a libpq URI
    // (`postgresql://user@host:port/dbname?…`, also `postgres://…`) or
    // `postgresql:<keyword/value conninfo>`. Throws std::runtime_error when
    // the URL is malformed or the database cannot be opened; no message
    // quotes the URL (it may carry a password).
    static std::unique_ptr<store> open(const std::string& url, const store_options& options);

    // `url` fit for a log line: a PostgreSQL password (in the URI's user
    // info, a `password` or `sslpassword` query parameter or keyword)
    // becomes `***`; anything else is returned as it is.
    static std::string redacted_url(const std::string& url);

    // Applies pending schema migrations (recorded in schema_migrations).
    // Safe when several processes start at once.
    virtual void migrate() = 0;

    // Throws error(unavailable) when the database cannot be reached.
    virtual void ping() = 0;

    // The backend name, "sqlite" or "postgresql".
    virtual std::string backend() const = 0;

    // --- resources ---------------------------------------------------------
    // Conflict when (resource_type, name) exists already (conflicts = [that id]).
    virtual void insert_resource(const resource& r) = 0;
    virtual std::optional<resource> find_resource(std::string_view type, std::string_view id) = 0;
    // Oldest first; `after` is the id of the last resource of the previous
    // page (invalid, field "after", when not a resource of this type).
    // Returns at most `limit` resources.
    virtual std::vector<resource> list_resources(std::string_view type,
                                                 const std::optional<std::string>& after,
                                                 std::size_t limit) = 0;
    // Replaces name and attributes. not_found when gone; conflict on a
    // duplicate name.
    virtual void update_resource(const resource& r) = 0;
    // Read, merge and write in one write transaction, the row held from the
    // read to COMMIT (SQLite: the write lock; PostgreSQL: FOR UPDATE):
    // not_found when unknown; else `change` edits the row as stored (it may
    // throw: nothing is written) and says whether it changed anything; a
    // changed row is written with the next version (conflict on a taken
    // name). Returns the row as it is now.
    virtual resource modify_resource(std::string_view type, std::string_view id,
                                     const std::function<bool(resource&)>& change) = 0;
    // not_found when unknown; precondition_failed when `expected` does not
    // hold for its version; conflict (conflicts = allocation ids) while it
    // has allocations ending after `now_us` unless `force`, which deletes
    // them with it.
    virtual void delete_resource(std::string_view type, std::string_view id, bool force,
                                 std::int64_t now_us, const version_condition& expected = {}) = 0;

    // --- allocations -------------------------------------------------------
    // Inside one write transaction: not_found when the resource is gone;
    // conflict (conflicts = overlapping allocation ids) on any overlap.
    // Costs one index seek however many allocations the resource has.
    virtual void insert_allocation(const allocation& a) = 0;
    virtual std::optional<allocation> find_allocation(std::string_view resource_id,
                                                      std::string_view id) = 0;
    // Ordered by start (open starts first), then end, then creation.
    // `after` is an allocation id of this resource (invalid otherwise).
    virtual std::vector<allocation> list_allocations(std::string_view resource_id,
                                                     const allocation_filter& filter,
                                                     const std::optional<std::string>& after,
                                                     std::size_t limit) = 0;
    // Replaces every field but id, resource_id and created. The allocation
    // does not conflict with itself. not_found / conflict as for insert.
    virtual void update_allocation(const allocation& a) = 0;
    // As modify_resource, for an allocation of this resource: the merged
    // allocation is checked for overlap as update_allocation checks it.
    virtual allocation modify_allocation(std::string_view resource_id, std::string_view id,
                                         const std::function<bool(allocation&)>& change) = 0;
    // not_found when unknown or not on this resource; precondition_failed
    // when `expected` does not hold for its version.
    virtual void delete_allocation(std::string_view resource_id, std::string_view id,
                                   const version_condition& expected = {}) = 0;

    // --- idempotency keys ----------------------------------------------------
    // In a transaction of its own, committed before the request runs (so
    // every worker process sees it): purges a few keys created before
    // claim.forget_before_us, then claims (scope, key) for this request or
    // says why not. A claim whose lease has run out passes to this one.
    virtual claim_outcome claim_idempotency_key(const idempotency_claim& claim) = 0;
    // Records the answer of a claimed key; conflict when the claim is no
    // longer `owner`'s (it expired and a retry took it over): the caller's
    // transaction must then not commit. Inside in_one_transaction(), it
    // commits with what the request wrote.
    virtual void complete_idempotency_key(const std::string& scope, const std::string& key,
                                          const std::string& owner,
                                          const stored_answer& answer) = 0;
    // Gives up an unanswered claim of `owner` (its request ended in a 5xx).
    virtual void release_idempotency_key(const std::string& scope, const std::string& key,
                                         const std::string& owner) = 0;

    // Runs `body` as one transaction: every store call it makes on this
    // thread joins it, begun at the first statement and committed when
    // `body` returns (rolled back when it throws). On PostgreSQL a deadlock
    // or serialization failure runs `body` again, a few times. A nested
    // call (on this thread, this store) runs its body in the outer one.
    virtual void in_one_transaction(std::string_view operation,
                                    const std::function<void()>& body) = 0;

    // --- availability --------------------------------------------------------
    // The resources of `type` whose allocations' blocked ranges all miss
    // `window`, oldest first, after the resource `after` (invalid, field
    // "after", when not one of this type). At most `limit`. One statement;
    // per resource one index seek, however many allocations it has.
    virtual std::vector<resource> list_available_resources(std::string_view type, interval window,
                                                           const std::optional<std::string>& after,
                                                           std::size_t limit) = 0;
    // The first `limit` blocked ranges of a resource that overlap `window`,
    // in order, not clipped; `more` when others follow them. Reads nothing
    // beyond the window.
    struct blocked_page {
        std::vector<interval> ranges;
        bool more = false;
    };
    virtual blocked_page blocked_ranges(std::string_view resource_id, interval window,
                                        std::size_t limit) = 0;
    // "Book any free one": inserts `a` (its resource_id ignored) on the
    // first of `candidates` (ids of resources of `type`; empty: every
    // resource of the type, oldest first) whose blocked ranges miss a's, and
    // returns that resource's id. Atomic per candidate: concurrent callers
    // never book one resource twice, and a caller is refused (conflict, no
    // `conflicts`) only once it found every candidate taken. not_found when
    // a candidate is not a resource of `type`, before anything is written.
    virtual std::string insert_allocation_on_first_free(
        const allocation& a, std::string_view type, const std::vector<std::string>& candidates) = 0;

    // --- the audit trail -------------------------------------------------------
    // Inside in_one_transaction() it commits (or not) with the change it
    // describes.
    virtual void insert_audit_entry(const audit_entry& e) = 0;
    // Newest first; `after` is the id of the last entry of the previous
    // page (invalid, field "after", when unknown). At most `limit`.
    virtual std::vector<audit_entry> list_audit(const audit_filter& filter,
                                                const std::optional<std::string>& after,
                                                std::size_t limit) = 0;
    // Deletes at most `limit` of the oldest entries recorded before
    // `before_us`, in a transaction of its own; returns how many.
    virtual std::size_t prune_audit(std::int64_t before_us, std::size_t limit) = 0;

    // --- API keys ------------------------------------------------------------
    // Conflict when a key with the same secret hash exists already.
    virtual void insert_key(const api_key& k) = 0;
    // Makes `k.secret_hash` name a live key with k's role: inserts k, or
    // gives the existing key of that hash k's role and brings it back if it
    // was revoked. True when it inserted.
    virtual bool ensure_key(const api_key& k) = 0;
    // The live (not revoked) key of that hash.
    virtual std::optional<api_key> find_key_by_hash(std::string_view secret_hash) = 0;
    // Live keys, oldest first, at most `limit`.
    virtual std::vector<api_key> list_keys(std::size_t limit) = 0;
    // Revokes a live key; not_found when unknown or already revoked.
    virtual void revoke_key(std::string_view id, std::int64_t now_us) = 0;
    // Records a use (at most once per key cache period and worker).
    virtual void touch_key(std::string_view id, std::int64_t now_us) = 0;
};

}  // namespace invsys
