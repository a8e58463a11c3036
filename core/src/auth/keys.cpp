#include "auth/keys.hpp"

#include "audit/audit.hpp"
#include "auth/credentials.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"
#include "time/timestamp.hpp"
#include "util/text.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

constexpr std::size_t max_key_name_code_points = 64;

api_key key_row(std::string_view name, role r, std::string_view secret) {
    return api_key{new_uuid(),          std::string(name), std::string(role_name(r)),
                   secret_hash(secret), now_micros(),      std::nullopt};
}

}  // namespace

void check_key_name(std::string_view name) {
    if (!is_valid_utf8(name)) throw invalid_field("name", "must be valid UTF-8");
    const std::size_t length = code_points(name);
    if (length == 0 || length > max_key_name_code_points)
        throw invalid_field("name", "must be 1 to 64 characters");
    if (has_control_characters(name))
        throw invalid_field("name", "must not contain control characters");
}

new_key create_key(store& db, std::string_view name, role r) {
    check_key_name(name);
    if (r == role::anyone) throw invalid_field("role", "must be reader, writer or admin");
    new_key made{{}, new_secret()};
    made.key = key_row(name, r, made.secret);
    db.in_one_transaction("create key", [&] {
        db.insert_key(made.key);
        record_change(db, {audited::key, "create", made.key.id, std::nullopt, std::nullopt,
                           encode_key(made.key, nullptr)});
    });
    return made;
}

bool ensure_key(store& db, std::string_view name, role r, std::string_view secret) {
    check_key_name(name);
    if (r == role::anyone) throw invalid_field("role", "must be reader, writer or admin");
    if (!is_well_formed_secret(secret))
        throw invalid_field("secret",
                            "must be 32 to 256 characters of A-Z a-z 0-9 - . _ ~ + / (then =)");
    const api_key wanted = key_row(name, r, secret);
    bool inserted = false;
    db.in_one_transaction("ensure key", [&] {
        inserted = db.ensure_key(wanted);
        // The row as it now is: the new key, or the existing one of that
        // secret given `r` and brought back.
        const std::optional<api_key> now = db.find_key_by_hash(wanted.secret_hash);
        const api_key& shown = now ? *now : wanted;
        record_change(db, {audited::key, inserted ? "create" : "ensure", shown.id, std::nullopt,
                           std::nullopt, encode_key(shown, nullptr)});
    });
    return inserted;
}

void revoke_key(store& db, std::string_view id) {
    db.in_one_transaction("revoke key", [&] {
        std::optional<std::string> before;
        for (const api_key& k : db.list_keys(max_listed_keys))
            if (k.id == id) before = encode_key(k, nullptr);
        db.revoke_key(id, now_micros());
        record_change(db, {audited::key, "revoke", std::string(id), std::nullopt, std::move(before),
                           std::nullopt});
    });
}

}  // namespace invsys
