// SHA-256 (FIPS 180-4), for fingerprints that must not collide by chance
// or by a client's design: the Idempotency-Key's request fingerprint.
#pragma once

#include <string>
#include <string_view>

namespace invsys {

// The digest of `data` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace invsys
