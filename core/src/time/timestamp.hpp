// RFC 3339 timestamps <-> microseconds since the Unix epoch (UTC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace invsys {

// Accepts `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` and the naive
// `YYYY-MM-DDTHH:MM:SS[.fraction]`, read as UTC. 'T' and 'Z' may be lower
// case. Fractions beyond microseconds are truncated (toward the past).
// Refuses impossible dates and times (month 13, Feb 30, Feb 29 of a common
// year, hour 24, minute 60, second 60 i.e. leap seconds), offsets beyond
// ±23:59, years outside 0001–9999, and anything else. Returns nullopt when
// refused.
std::optional<std::int64_t> parse_timestamp(std::string_view text) noexcept;

// `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` when the microseconds are not zero.
std::string format_timestamp(std::int64_t micros);

// The same text written into `out`, which has room for
// max_timestamp_length characters (no terminating NUL); returns its length.
// For encoders that write many timestamps without a string each.
inline constexpr std::size_t max_timestamp_length = 32;
std::size_t format_timestamp_to(char* out, std::int64_t micros) noexcept;

// Now, from the system clock, in microseconds since the epoch.
std::int64_t now_micros() noexcept;

}  // namespace invsys
