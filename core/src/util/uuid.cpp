#include "util/uuid.hpp"

#include <sys/random.h>
#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "util/process_id.hpp"

namespace invsys {
namespace {

void fill_random(unsigned char* out, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        // Up to 256 bytes never block once the pool is initialised and are never
        // cut short, but a signal before initialisation can interrupt.
        const ssize_t n = getrandom(out + done, size - done, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        done += static_cast<std::size_t>(n);
    }
}

// Random bytes for ids, fetched 128 at a time: a getrandom() per id was two
// system calls per booking. The buffer belongs to one thread of one
// process: a forked child (current_pid() changes) discards what it
// inherited, so no two processes ever hand out the same bytes.
void take_random(unsigned char* out, std::size_t size) {
    thread_local unsigned char pool[128];
    thread_local std::size_t used = sizeof pool;
    thread_local pid_t owner = 0;
    if (owner != current_pid()) {
        owner = current_pid();
        used = sizeof pool;
    }
    if (size > sizeof pool - used) {
        fill_random(pool, sizeof pool);
        used = 0;
    }
    std::memcpy(out, pool + used, size);
    // Never handed out twice, and not left readable in memory.
    std::memset(pool + used, 0, size);
    used += size;
}

bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_dash_position(std::size_t i) noexcept { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

std::string new_uuid() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
    const auto ms = static_cast<std::uint64_t>(us / 1000);
    // The fraction of the millisecond in 1/4096ths: monotonic within it.
    const auto fraction = static_cast<std::uint32_t>((us % 1000) * 4096 / 1000);

    unsigned char bytes[16];
    for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
    bytes[6] = static_cast<unsigned char>(0x70 | (fraction >> 8));  // version 7
    bytes[7] = static_cast<unsigned char>(fraction & 0xff);
    take_random(bytes + 8, 8);
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 9562 variant

    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (std::size_t i = 0; i < sizeof bytes; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
        text += digits[bytes[i] >> 4];
        text += digits[bytes[i] & 0x0f];
    }
    return text;
}

bool is_uuid(std::string_view text) noexcept {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (is_dash_position(i) ? text[i] != '-' : !is_hex(text[i])) return false;
    }
    return true;
}

}  // namespace invsys
