// The stored entities, as core passes them between the API layer, the JSON
// codec and storage. Times are microseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace invsys {

// Open interval ends: the smallest and largest 64-bit values, so that one
// comparison rule covers open and closed ends alike.
inline constexpr std::int64_t open_start = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t open_end = std::numeric_limits<std::int64_t>::max();

struct resource {
    std::string id;             // UUID, server-assigned
    std::string resource_type;  // plugin type name, e.g. "Car"
    std::string name;
    std::string attributes_json;  // canonical JSON object text, "{}" when none
    std::int64_t created_us = 0;
    std::int64_t version = 1;  // 1 when created, one more on each change (the ETag)
};

struct allocation {
    std::string id;  // UUID, server-assigned
    std::string resource_id;
    std::int64_t from_us = open_start;  // open_start when from_infinity
    std::int64_t to_us = open_end;      // open_end when to_infinity
    std::string allocation_type;
    std::optional<std::string> description;
    std::optional<std::string> dump_json;  // canonical JSON object text
    std::int64_t created_us = 0;
    std::int64_t version = 1;  // 1 when created, one more on each change (the ETag)
    // The type's turnaround buffers (booking/type_rules.hpp) at the time
    // it was written: the range kept from other allocations, the blocked
    // range, is [from_us - buffer_before_us, to_us + buffer_after_us),
    // saturating at the open ends (blocked_from / blocked_to). The
    // no-overlap rule works on it.
    std::int64_t buffer_before_us = 0;
    std::int64_t buffer_after_us = 0;
};

// An If-Match condition on a row's version: any version (`*`, or no
// If-Match at all), or one of a list (which may be empty: nothing matches).
struct version_condition {
    bool any = true;
    std::vector<std::int64_t> versions;

    bool holds(std::int64_t version) const noexcept {
        if (any) return true;
        for (std::int64_t v : versions) {
            if (v == version) return true;
        }
        return false;
    }
};

// The blocked range of `a` (see allocation::buffer_before_us); buffers are
// never negative.
inline std::int64_t blocked_from(const allocation& a) noexcept {
    return a.from_us < open_start + a.buffer_before_us ? open_start
                                                       : a.from_us - a.buffer_before_us;
}
inline std::int64_t blocked_to(const allocation& a) noexcept {
    return a.to_us > open_end - a.buffer_after_us ? open_end : a.to_us + a.buffer_after_us;
}

// An API key as stored: never the secret, only its hash
// (auth/credentials.hpp). `role` is "reader", "writer" or "admin".
struct api_key {
    std::string id;  // UUID, server-assigned
    std::string name;
    std::string role;
    std::string secret_hash;  // 64 hex digits of SHA-256
    std::int64_t created_us = 0;
    std::optional<std::int64_t> last_used_us;
};

// One entry of the audit trail (audit/audit.hpp): one recorded change.
// The JSON texts are the rows as the API showed them.
struct audit_entry {
    std::string id;  // a UUID: the listing's cursor
    std::int64_t at_us = 0;
    std::string key_id, key_name;  // who; never the secret
    std::string request_id, method, route;
    std::string action;       // create, update, delete, force-delete, revoke, ensure
    std::string entity_kind;  // resource, allocation, key
    std::string entity_id;
    std::optional<std::string> resource_id;  // the resource it is or belongs to
    std::optional<std::string> before_json, after_json;
};

}  // namespace invsys
