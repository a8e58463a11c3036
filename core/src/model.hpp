// The stored entities, as core passes them between the API layer, the JSON
// codec and storage. Times are microseconds since the Unix epoch (UTC).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

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
};

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

}  // namespace invsys
