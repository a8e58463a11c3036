// Server-assigned ids: random (version 4) UUIDs in lower-case canonical form.
#pragma once

#include <string>
#include <string_view>

namespace invsys {

// From the kernel's CSPRNG (getrandom); thread-safe.
std::string new_uuid();

// True for the canonical 36-character form (8-4-4-4-12 hex digits, either case).
bool is_uuid(std::string_view text) noexcept;

}  // namespace invsys
