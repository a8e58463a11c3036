// Server-assigned ids: time-ordered (version 7, RFC 9562) UUIDs in
// lower-case canonical form.
#pragma once

#include <string>
#include <string_view>

namespace invsys {

// 48 bits of Unix time in milliseconds, then 12 bits of the millisecond's
// fraction (RFC 9562 §6.2, method 3), then 62 random bits from the kernel's
// CSPRNG. Ids made later sort later (to the clock's precision), so a new
// row's entry in every index on an id lands beside the last one instead of
// on a random page: a booking writes its allocation's id index, its audit
// entry's id index and the audit log's entity index, and with random ids
// each of them was a page of its own in the WAL at every commit.
// Thread-safe; the random bits come from a per-thread buffer (one
// getrandom() per 16 ids), never shared with a forked child.
std::string new_uuid();

// True for the canonical 36-character form (8-4-4-4-12 hex digits, either case).
bool is_uuid(std::string_view text) noexcept;

}  // namespace invsys
