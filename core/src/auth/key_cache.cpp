#include "auth/key_cache.hpp"

#include <invsys/log.hpp>

#include "auth/credentials.hpp"
#include "error/error.hpp"
#include "time/timestamp.hpp"

namespace invsys {

std::optional<authenticated_key> key_cache::find(std::string_view secret) {
    const std::string hash = secret_hash(secret);
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (const auto it = entries_.find(hash); it != entries_.end()) {
            if (it->second.expires > now) return it->second.who;
            entries_.erase(it);
        }
    }
    const std::optional<api_key> stored = db_.find_key_by_hash(hash);
    if (!stored) return std::nullopt;
    const std::optional<role> stored_role = parse_key_role(stored->role);
    if (!stored_role) throw error(error_code::internal, "a stored key has an unknown role");
    authenticated_key who{stored->id, stored->name, *stored_role};
    try {
        // Once per key, worker and cache period: a busy database must not
        // fail the request for it.
        db_.touch_key(stored->id, now_micros());
    } catch (const error& e) {
        log_warn(std::string("key last-used time not recorded: ") + e.what());
    }
    std::lock_guard lock(mutex_);
    if (entries_.size() >= key_cache_capacity) entries_.clear();
    entries_[hash] = entry{who, now + key_cache_ttl};
    return who;
}

}  // namespace invsys
