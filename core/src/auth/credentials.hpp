// The text of credentials and request ids: making them, checking their
// shape, hashing secrets. No storage, no HTTP: the key store (auth/keys.hpp)
// and the pipeline (api/pipeline.cpp) build on these, and the fuzz target
// tests/fuzz/fuzz_credentials.cpp runs them on hostile input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace invsys {

// Secrets made here: "invsys_" + 64 lower-case hex digits, 256 bits from
// getrandom(2). The prefix lets secret scanners recognise a leaked key.
inline constexpr std::string_view secret_prefix = "invsys_";
std::string new_secret();

// A credential we accept at all: RFC 6750's b64token characters
// (A–Z a–z 0–9 - . _ ~ + / and trailing =), min_secret_length to
// max_secret_length of them. Secrets given by operators (INVSYS_ADMIN_KEY)
// must fit too.
inline constexpr std::size_t min_secret_length = 32;
inline constexpr std::size_t max_secret_length = 256;
bool is_well_formed_secret(std::string_view secret) noexcept;

// The token of an `Authorization: Bearer <token>` header value: the scheme
// is case-insensitive (RFC 9110 §11.1), one or more spaces follow it, and
// the token must be well formed; nullopt for anything else (another scheme,
// a malformed or over-long token, trailing text).
std::optional<std::string_view> bearer_token(std::string_view header_value) noexcept;

// What is stored instead of a secret: SHA-256 of it, 64 lower-case hex
// digits (OpenSSL's EVP digest). A 256-bit random secret needs no salt or
// slow hash: it cannot be guessed from its hash.
std::string secret_hash(std::string_view secret);

// Request ids we pass on: 1–64 characters of A–Z a–z 0–9 . _ -
// (nginx's own $request_id is 32 hex digits).
inline constexpr std::size_t max_request_id_length = 64;
bool is_well_formed_request_id(std::string_view id) noexcept;
// A fresh id (32 hex digits, like nginx's) for a request that came without one.
std::string new_request_id();

}  // namespace invsys
