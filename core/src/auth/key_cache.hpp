// Each worker's short memory of the keys it has looked up, so that a
// request costs one SHA-256 and a map lookup rather than a database read.
// An entry lives key_cache_ttl at most: a revoked (or re-roled) key stops
// working in every worker within that time. Unknown secrets are not cached
// (they cost a read each; nginx's per-key rate limit bounds them). The
// cache holds secret hashes, never secrets. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/role.hpp"
#include "storage/store.hpp"

namespace invsys {

inline constexpr std::chrono::seconds key_cache_ttl{2};
// Entries kept at most; when full the cache starts over (a few hundred
// live keys is already a lot for this service).
inline constexpr std::size_t key_cache_capacity = 1024;

// Who is calling: the key a request authenticated with.
struct authenticated_key {
    std::string id;
    std::string name;
    invsys::role role = role::reader;
};

class key_cache {
  public:
    explicit key_cache(store& db) : db_(db) {}

    // The live key of `secret`, or nullopt. A database lookup (and a
    // last-used update) on a miss; throws error(unavailable) when the
    // database cannot be read.
    std::optional<authenticated_key> find(std::string_view secret);

  private:
    struct entry {
        authenticated_key who;
        std::chrono::steady_clock::time_point expires;
    };
    store& db_;
    std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;  // by secret hash
};

}  // namespace invsys
