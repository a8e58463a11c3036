#include <unistd.h>

#include <invsys/key_admin.hpp>

#include "audit/audit.hpp"
#include "auth/keys.hpp"
#include "error/error.hpp"
#include "storage/store.hpp"
#include "time/timestamp.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

key_summary summary_of(const api_key& k) {
    return {k.id, k.name, k.role, format_timestamp(k.created_us),
            k.last_used_us ? format_timestamp(*k.last_used_us) : std::string()};
}

role role_from(const std::string& text) {
    const auto r = parse_key_role(text);
    if (!r) throw std::runtime_error("role must be reader, writer or admin, not '" + text + "'");
    return *r;
}

// The operator's message for a core error: the field's, else the detail.
std::string message_of(const error& e) {
    if (!e.errors.empty()) return e.errors.front().field + ": " + e.errors.front().message;
    return e.what();
}

// Changes made through invsys-admin: no API key, the operator's uid.
change_origin admin_origin(const std::string& command) {
    return {"", "invsys-admin (uid " + std::to_string(::geteuid()) + ")", "", "CLI",
            "invsys-admin " + command};
}

template <class Work>
auto as_runtime_error(Work&& work) {
    try {
        return work();
    } catch (const error& e) {
        throw std::runtime_error(message_of(e));
    }
}

}  // namespace

key_admin::key_admin(const config& cfg) : db_(store::open(cfg.database, {cfg.busy_timeout_ms, 1})) {
    as_runtime_error([&] {
        db_->migrate();
        return 0;
    });
}

key_admin::~key_admin() = default;

key_summary key_admin::create(const std::string& name, const std::string& role_text,
                              std::string& secret) {
    const role r = role_from(role_text);
    const origin_scope origin(admin_origin("keys create"));
    return as_runtime_error([&] {
        new_key made = create_key(*db_, name, r);
        secret = std::move(made.secret);
        return summary_of(made.key);
    });
}

bool key_admin::ensure(const std::string& name, const std::string& role_text,
                       const std::string& secret) {
    const role r = role_from(role_text);
    const origin_scope origin(admin_origin("keys ensure"));
    return as_runtime_error([&] { return ensure_key(*db_, name, r, secret); });
}

std::vector<key_summary> key_admin::list() {
    return as_runtime_error([&] {
        std::vector<key_summary> out;
        for (const api_key& k : db_->list_keys(max_listed_keys)) out.push_back(summary_of(k));
        return out;
    });
}

void key_admin::revoke(const std::string& id) {
    if (!is_uuid(id)) throw std::runtime_error("no key with id '" + id + "'");
    std::string lower = id;
    for (char& c : lower)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    const origin_scope origin(admin_origin("keys revoke"));
    as_runtime_error([&] {
        revoke_key(*db_, lower);
        return 0;
    });
}

}  // namespace invsys
