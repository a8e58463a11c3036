#include "auth/credentials.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "util/sha256.hpp"

namespace invsys {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

std::string to_hex(const unsigned char* bytes, std::size_t size) {
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += hex_digits[bytes[i] >> 4];
        out += hex_digits[bytes[i] & 0x0f];
    }
    return out;
}

void fill_random(unsigned char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::getrandom(out + done, size - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        done += static_cast<std::size_t>(n);
    }
}

// Which bytes each alphabet allows, as a table: every request checks its
// bearer token (70 bytes) and its request id byte by byte, and a chain of
// nine comparisons per byte cost more than the rest of those checks.
constexpr unsigned char request_id_class = 1;  // A-Z a-z 0-9 - . _
constexpr unsigned char b64token_class = 2;    // those and ~ + /

constexpr std::array<unsigned char, 256> character_classes() {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const bool id = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        const bool b64 = id || c == '~' || c == '+' || c == '/';
        table[static_cast<std::size_t>(c)] =
            static_cast<unsigned char>((id ? request_id_class : 0) | (b64 ? b64token_class : 0));
    }
    return table;
}
constexpr std::array<unsigned char, 256> classes = character_classes();

bool is_b64token_char(char c) noexcept {
    return (classes[static_cast<unsigned char>(c)] & b64token_class) != 0;
}

bool is_request_id_char(char c) noexcept {
    return (classes[static_cast<unsigned char>(c)] & request_id_class) != 0;
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

}  // namespace

std::string new_secret() {
    unsigned char bytes[32];
    fill_random(bytes, sizeof bytes);
    std::string secret(secret_prefix);
    secret += to_hex(bytes, sizeof bytes);
    return secret;
}

bool is_well_formed_secret(std::string_view secret) noexcept {
    if (secret.size() < min_secret_length || secret.size() > max_secret_length) return false;
    std::size_t end = secret.size();
    while (end > 0 && secret[end - 1] == '=') --end;  // b64token: '=' only at the end
    if (end == 0) return false;
    for (std::size_t i = 0; i < end; ++i)
        if (!is_b64token_char(secret[i])) return false;
    return true;
}

std::optional<std::string_view> bearer_token(std::string_view value) noexcept {
    constexpr std::string_view scheme = "bearer";
    if (value.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (lower(value[i]) != scheme[i]) return std::nullopt;
    std::size_t start = scheme.size();
    if (value[start] != ' ') return std::nullopt;
    while (start < value.size() && value[start] == ' ') ++start;
    const std::string_view token = value.substr(start);
    if (!is_well_formed_secret(token)) return std::nullopt;
    return token;
}

std::string secret_hash(std::string_view secret) { return sha256_hex(secret); }

bool is_well_formed_request_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > max_request_id_length) return false;
    for (const char c : id)
        if (!is_request_id_char(c)) return false;
    return true;
}

std::string new_request_id() {
    unsigned char bytes[16];
    fill_random(bytes, sizeof bytes);
    return to_hex(bytes, sizeof bytes);
}

}  // namespace invsys
