#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <invsys/log.hpp>
#include <string>

#include "time/timestamp.hpp"
#include "util/process_id.hpp"

namespace invsys {
namespace {

std::atomic<int> minimum_level{static_cast<int>(log_level::info)};
thread_local std::string_view request_id_of_thread;

const char* level_name(log_level level) noexcept {
    switch (level) {
        case log_level::debug:
            return "DEBUG";
        case log_level::info:
            return "INFO";
        case log_level::warn:
            return "WARN";
        case log_level::error:
            return "ERROR";
    }
    return "INFO";
}

// Always six fraction digits so that log lines align and sort as text.
std::string log_time() {
    std::string text = format_timestamp(now_micros());
    if (text.size() == 20) text.insert(19, ".000000");
    return text;
}

void write_all(const char* data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t n = ::write(STDERR_FILENO, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere left to report it
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

// A request's line is about 250 bytes; a thread does not keep the buffer of
// an unusually long one.
constexpr std::size_t kept_line_capacity = 4096;

}  // namespace

void set_log_level(log_level level) noexcept {
    minimum_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

bool parse_log_level(std::string_view text, log_level& out) noexcept {
    if (text == "debug")
        out = log_level::debug;
    else if (text == "info")
        out = log_level::info;
    else if (text == "warn")
        out = log_level::warn;
    else if (text == "error")
        out = log_level::error;
    else
        return false;
    return true;
}

void log(log_level level, std::string_view message) noexcept {
    if (static_cast<int>(level) < minimum_level.load(std::memory_order_relaxed)) return;
    try {
        std::string line = log_time();
        line += " [";
        line += std::to_string(current_pid());
        line += "] ";
        line += level_name(level);
        line += ' ';
        // A message may quote client input: control characters are masked
        // so that nobody can forge a line of their own.
        for (const char c : message) {
            const auto b = static_cast<unsigned char>(c);
            line += (b < 0x20 && b != '\t') || b == 0x7f ? '?' : c;
        }
        if (!request_id_of_thread.empty()) line.append(" request_id=").append(request_id_of_thread);
        line += '\n';
        write_all(line.data(), line.size());
    } catch (...) {
        static constexpr char fallback[] = "invsys: out of memory while logging\n";
        write_all(fallback, sizeof fallback - 1);
    }
}

void log_json_line(std::string_view json) noexcept {
    try {
        // Copied whole, then masked in place: a character at a time through
        // operator+= cost more than encoding the line (one per request).
        // One buffer per thread, kept: no allocation per line.
        thread_local std::string line;
        line.assign(json);
        // memchr, vectorised, rather than a test per byte: a line rarely
        // holds either.
        for (const char breaking : {'\n', '\r'}) {
            char* const end = line.data() + line.size();
            for (char* p = line.data(); (p = static_cast<char*>(std::memchr(
                                             p, breaking, static_cast<std::size_t>(end - p))));)
                *p++ = ' ';
        }
        line += '\n';
        write_all(line.data(), line.size());
        if (line.capacity() > kept_line_capacity) std::string().swap(line);
    } catch (...) {
        static constexpr char fallback[] = "invsys: out of memory while logging\n";
        write_all(fallback, sizeof fallback - 1);
    }
}

log_request_scope::log_request_scope(std::string_view id) noexcept
    : previous_(request_id_of_thread) {
    request_id_of_thread = id;
}

log_request_scope::~log_request_scope() { request_id_of_thread = previous_; }

}  // namespace invsys
