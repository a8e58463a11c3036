#include "auth/role.hpp"

namespace invsys {

std::string_view role_name(role r) noexcept {
    switch (r) {
        case role::anyone:
            return "anyone";
        case role::reader:
            return "reader";
        case role::writer:
            return "writer";
        case role::admin:
            return "admin";
    }
    return "anyone";
}

std::optional<role> parse_key_role(std::string_view text) noexcept {
    if (text == "reader") return role::reader;
    if (text == "writer") return role::writer;
    if (text == "admin") return role::admin;
    return std::nullopt;
}

}  // namespace invsys
