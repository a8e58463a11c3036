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
};

struct allocation_filter {
    std::optional<interval> window;  // keep those overlapping this window
    std::optional<std::string> allocation_type;
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
    // not_found when unknown; conflict (conflicts = allocation ids) while it
    // has allocations ending after `now_us` unless `force`, which deletes
    // them with it.
    virtual void delete_resource(std::string_view type, std::string_view id, bool force,
                                 std::int64_t now_us) = 0;

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
    // not_found when unknown or not on this resource.
    virtual void delete_allocation(std::string_view resource_id, std::string_view id) = 0;

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
