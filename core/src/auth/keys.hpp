// API key management, shared by the HTTP API (POST/GET/DELETE /api/keys)
// and the operators' command-line tool (invsys-admin keys …): both go
// through these, so a key made either way is the same row.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "auth/role.hpp"
#include "model.hpp"
#include "storage/store.hpp"

namespace invsys {

// GET /api/keys and `invsys-admin keys list` show at most this many keys.
inline constexpr std::size_t max_listed_keys = 1000;

struct new_key {
    api_key key;
    std::string secret;  // shown once, to whoever created the key; never stored
};

// Throws error(invalid, field "name") unless `name` is 1–64 code points of
// valid UTF-8 without control characters.
void check_key_name(std::string_view name);

// A fresh key with a fresh secret (auth/credentials.hpp), stored.
new_key create_key(store& db, std::string_view name, role r);

// Makes `secret` a live key of role `r` (named `name` when it is new):
// for INVSYS_ADMIN_KEY and tests. Throws error(invalid, field "secret")
// when the secret is not well formed (is_well_formed_secret). True when a
// new key was stored.
bool ensure_key(store& db, std::string_view name, role r, std::string_view secret);

// Revokes a live key (error not_found when unknown or revoked already).
void revoke_key(store& db, std::string_view id);

// Each of these records its change in the audit trail (audit/audit.hpp),
// in the change's own transaction.

}  // namespace invsys
