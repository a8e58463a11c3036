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

}  // namespace invsys
