// The audit trail: every change the booking layer and the key functions
// make is recorded by record_change(), inside the store transaction of the
// change itself (store::in_one_transaction), so that a change and its
// record commit together or not at all.
//
// Who made it comes from the thread's change_origin: the pipeline sets it
// for one API request (the caller's key, the request id, the method and
// the route pattern), invsys-admin for one command. A replayed idempotent
// request runs no handler, so it records nothing a second time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace invsys {

struct change_origin {
    std::string key_id;    // "" when no API key (invsys-admin)
    std::string key_name;  // the key's name, or "invsys-admin (uid N)"
    std::string request_id;
    std::string method;  // GET, POST…, or "CLI"
    std::string route;   // the route table's pattern, or the admin command
};

// Makes `origin` the origin of the changes this thread records until the
// scope ends (scopes nest: the outer one comes back).
class origin_scope {
  public:
    explicit origin_scope(change_origin origin);
    ~origin_scope();
    origin_scope(const origin_scope&) = delete;
    origin_scope& operator=(const origin_scope&) = delete;

  private:
    change_origin origin_;
    const change_origin* outer_;
};

// The origin of this thread's changes; an "unknown" one outside any scope
// (a test calling the booking layer directly).
const change_origin& current_origin();

enum class audited { resource, allocation, key };

struct change_record {
    audited kind = audited::resource;
    std::string action;  // create, update, delete, force-delete, revoke, ensure
    std::string entity_id;
    std::optional<std::string> resource_id;
    std::optional<std::string> before_json;  // nullopt before a create
    std::optional<std::string> after_json;   // nullopt after a delete
};

// Records `change` with the current origin and time. Must run inside the
// store transaction that makes the change.
void record_change(store& db, const change_record& change);

// The entries a listing serves at most per page, and the retention job's
// batch (audit/retention.hpp).
inline constexpr std::size_t audit_prune_batch = 500;

}  // namespace invsys
