// errno in log lines: "EACCES (Permission denied)".
#pragma once

#include <cstring>
#include <string>

namespace invsys::fcgi {

inline std::string errno_text(int error) {
    const char* name = ::strerrorname_np(error);  // glibc >= 2.32
    const char* description = ::strerrordesc_np(error);
    if (name == nullptr || description == nullptr) return "errno " + std::to_string(error);
    return std::string(name) + " (" + description + ")";
}

}  // namespace invsys::fcgi
