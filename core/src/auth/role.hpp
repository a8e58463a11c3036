// Who may do what: the roles of API keys, ordered so that a higher role
// includes every lower one (reader < writer < admin). `anyone` is only a
// route's requirement (GET /api/health), never a key's role.
#pragma once

#include <optional>
#include <string_view>

namespace invsys {

enum class role { anyone, reader, writer, admin };

// "reader", "writer", "admin" (and "anyone").
std::string_view role_name(role r) noexcept;
// The role of a key named in text; nullopt for anything else ("anyone" too).
std::optional<role> parse_key_role(std::string_view text) noexcept;
// `held` suffices where `required` is needed.
inline bool role_allows(role held, role required) noexcept {
    return static_cast<int>(held) >= static_cast<int>(required);
}

}  // namespace invsys
