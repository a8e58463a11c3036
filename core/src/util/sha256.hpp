// SHA-256 (FIPS 180-4, OpenSSL's): API key hashes (auth/credentials.hpp) and
// the Idempotency-Key's request fingerprint, which must not collide by chance
// or by a client's design.
#pragma once

#include <string>
#include <string_view>

namespace invsys {

// The digest of `data` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace invsys
