#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <invsys/config.hpp>
#include <invsys/log.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace invsys {
namespace {

constexpr const char* keys[] = {
    "database",
    "plugin_dir",
    "listen",
    "socket_group",
    "socket_mode",
    "workers",
    "threads",
    "max_requests",
    "request_timeout_s",
    "shutdown_timeout_s",
    "busy_timeout_ms",
    "sqlite_commit_group_max",
    "sqlite_connections",
    "sqlite_cache_kib",
    "pg_connect_timeout_s",
    "pg_statement_timeout_ms",
    "pg_tcp_user_timeout_ms",
    "pg_keepalives_idle_s",
    "pg_connections",
    "max_body_bytes",
    "max_page_bytes",
    "log_level",
    "fastcgi_io_timeout_s",
    "fastcgi_allowed_users",
    "fastcgi_allowed_groups",
    "fastcgi_allowed_addrs",
    "audit.retention_days",
};

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(first, last - first + 1));
}

[[noreturn]] void fail(const std::string& key, const std::string& message) {
    throw std::runtime_error(key + ": " + message);
}

// Digits only: from_chars alone would accept "12abc" as 12 here, and a
// sign or spaces have no business in a count.
template <typename Unsigned>
Unsigned parse_unsigned(const std::string& key, const std::string& value, int base, Unsigned min,
                        Unsigned max) {
    const char* digits = base == 8 ? "01234567" : "0123456789";
    if (value.empty() || value.find_first_not_of(digits) != std::string::npos)
        fail(key, "'" + value + "' is not " + (base == 8 ? "an octal number" : "a whole number"));
    Unsigned result{};
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), result, base);
    if (ec != std::errc() || result < min || result > max)
        fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return result;
}

// "a, b,c" -> {"a", "b", "c"}; empty items are refused.
std::vector<std::string> split_list(const std::string& key, const std::string& value) {
    std::vector<std::string> items;
    if (trim(value).empty()) return items;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = value.find(',', start);
        std::string item = trim(std::string_view(value).substr(
            start, comma == std::string::npos ? std::string::npos : comma - start));
        if (item.empty()) fail(key, "'" + value + "' has an empty item");
        items.push_back(std::move(item));
        if (comma == std::string::npos) return items;
        start = comma + 1;
    }
}

// User and group names as useradd/groupadd take them, or numeric ids.
std::string check_id_list(const std::string& key, const std::string& value) {
    for (const std::string& item : split_list(key, value)) {
        const bool plain = std::all_of(item.begin(), item.end(),
                                       [](char c) {
                                           return std::isalnum(static_cast<unsigned char>(c)) ||
                                                  c == '_' || c == '-' || c == '.';
                                       }) &&
                           item[0] != '-';
        if (!plain) fail(key, "'" + item + "' is not a user or group name nor a numeric id");
    }
    return value;
}

std::string check_address_list(const std::string& key, const std::string& value) {
    for (const std::string& item : split_list(key, value)) {
        if (!parse_address_range(item))
            fail(key, "'" + item + "' is not an IPv4 or IPv6 address, with an optional /prefix");
    }
    return value;
}

// "90s", "15m", "2h", "7d" or "0": a span in microseconds, 0 to 366 days.
std::int64_t parse_span(const std::string& key, const std::string& value) {
    constexpr std::int64_t second = 1000 * 1000;
    constexpr std::int64_t max_days = 366;
    if (value == "0") return 0;
    if (value.size() < 2) fail(key, "'" + value + "' is not a span like 90s, 15m, 2h or 7d");
    const char unit = value.back();
    const std::int64_t scale = unit == 's'   ? second
                               : unit == 'm' ? 60 * second
                               : unit == 'h' ? 3600 * second
                               : unit == 'd' ? 86400 * second
                                             : 0;
    if (scale == 0) fail(key, "'" + value + "' is not a span like 90s, 15m, 2h or 7d");
    const auto count = parse_unsigned<std::uint64_t>(key, value.substr(0, value.size() - 1), 10, 0,
                                                     max_days * 86400 * second / scale);
    return static_cast<std::int64_t>(count) * scale;
}

// Allocation type names as the API takes them: 1-32 characters, no
// control characters, no commas (the list separator) or dots (the key's).
bool plain_allocation_type(const std::string& name) {
    return !name.empty() && name.size() <= 32 && std::none_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ',' || c == '.';
    });
}

// `rules.<Type>.<rule>`: allocation_types, buffer_before, buffer_after,
// min_notice, duration.<allocation_type> ("<min>..<max>", either side
// may be empty).
void set_type_rule(config& cfg, const std::string& key, const std::string& value) {
    const std::string rest = key.substr(std::string_view("rules.").size());
    const auto dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos) throw std::runtime_error("unknown key '" + key + "'");
    const std::string type = rest.substr(0, dot);
    const std::string rule = rest.substr(dot + 1);
    type_rule_overrides& rules = cfg.type_rules[type];
    if (rule == "allocation_types") {
        std::vector<std::string> names = split_list(key, value);
        for (const auto& name : names)
            if (!plain_allocation_type(name))
                fail(key, "'" + name + "' is not an allocation type of 1 to 32 characters");
        rules.allocation_types = std::move(names);
    } else if (rule == "buffer_before") {
        rules.buffer_before_us = parse_span(key, value);
    } else if (rule == "buffer_after") {
        rules.buffer_after_us = parse_span(key, value);
    } else if (rule == "min_notice") {
        rules.min_notice_us = parse_span(key, value);
    } else if (rule.starts_with("duration.") && plain_allocation_type(rule.substr(9))) {
        const auto range = value.find("..");
        if (range == std::string::npos) fail(key, "'" + value + "' is not '<min>..<max>'");
        const std::string low = trim(std::string_view(value).substr(0, range));
        const std::string high = trim(std::string_view(value).substr(range + 2));
        std::pair<std::optional<std::int64_t>, std::optional<std::int64_t>> bounds;
        if (!low.empty()) bounds.first = parse_span(key, low);
        if (!high.empty()) bounds.second = parse_span(key, high);
        if ((bounds.first && *bounds.first == 0) || (bounds.second && *bounds.second == 0))
            fail(key, "bounds must be positive");
        if (bounds.first && bounds.second && *bounds.first > *bounds.second)
            fail(key, "the minimum is above the maximum");
        rules.durations[rule.substr(9)] = bounds;
    } else {
        throw std::runtime_error("unknown key '" + key + "'");
    }
}

std::string environment_name(std::string_view key) {
    std::string name = "INVSYS_";
    // audit.retention_days → INVSYS_AUDIT_RETENTION_DAYS: a dot is no
    // character of a shell variable's name.
    for (const char c : key)
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

}  // namespace

std::optional<address_range> parse_address_range(std::string_view text) {
    address_range range;
    std::string address(text);
    std::optional<unsigned> prefix;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        address = std::string(text.substr(0, slash));
        const std::string_view digits = text.substr(slash + 1);
        unsigned value = 0;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size())
            return std::nullopt;
        prefix = value;
    }
    if (::inet_pton(AF_INET, address.c_str(), range.bytes.data() + 12) == 1) {
        // IPv4 as an IPv4-mapped IPv6 address: one comparison for both families.
        range.bytes[10] = range.bytes[11] = 0xff;
        if (prefix && *prefix > 32) return std::nullopt;
        range.prefix_bits = 96 + prefix.value_or(32);
    } else if (::inet_pton(AF_INET6, address.c_str(), range.bytes.data()) == 1) {
        if (prefix && *prefix > 128) return std::nullopt;
        range.prefix_bits = prefix.value_or(128);
    } else {
        return std::nullopt;
    }
    return range;
}

bool address_range::contains(const std::array<unsigned char, 16>& address) const noexcept {
    unsigned bits = prefix_bits;
    for (std::size_t i = 0; i < address.size() && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<unsigned char>(0xff00u >> take);
        if ((address[i] & mask) != (bytes[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

void config::set(const std::string& key, const std::string& value) {
    constexpr unsigned unsigned_max = ~0u;
    if (key == "database" || key == "plugin_dir" || key == "listen") {
        if (value.empty()) fail(key, "must not be empty");
        (key == "database" ? database : key == "plugin_dir" ? plugin_dir : listen) = value;
    } else if (key == "socket_group") {
        socket_group = value;
    } else if (key == "socket_mode") {
        socket_mode = parse_unsigned<unsigned>(key, value, 8, 0, 0777);
    } else if (key == "workers") {
        workers = parse_unsigned<unsigned>(key, value, 10, 0, 1024);
    } else if (key == "threads") {
        threads = parse_unsigned<unsigned>(key, value, 10, 1, 256);
    } else if (key == "max_requests") {
        max_requests = parse_unsigned<unsigned>(key, value, 10, 0, unsigned_max);
    } else if (key == "request_timeout_s") {
        request_timeout_s = parse_unsigned<unsigned>(key, value, 10, 1, 86400);
    } else if (key == "shutdown_timeout_s") {
        shutdown_timeout_s = parse_unsigned<unsigned>(key, value, 10, 0, 86400);
    } else if (key == "busy_timeout_ms") {
        busy_timeout_ms = parse_unsigned<unsigned>(key, value, 10, 0, 3'600'000);
    } else if (key == "sqlite_commit_group_max") {
        sqlite_commit_group_max = parse_unsigned<unsigned>(key, value, 10, 1, 1024);
    } else if (key == "sqlite_connections") {
        sqlite_connections = parse_unsigned<unsigned>(key, value, 10, 0, 256);
    } else if (key == "sqlite_cache_kib") {
        sqlite_cache_kib = parse_unsigned<unsigned>(key, value, 10, 16, 1u << 20);
    } else if (key == "pg_connect_timeout_s") {
        pg_connect_timeout_s = parse_unsigned<unsigned>(key, value, 10, 1, 3600);
    } else if (key == "pg_statement_timeout_ms") {
        pg_statement_timeout_ms = parse_unsigned<unsigned>(key, value, 10, 100, 3'600'000);
    } else if (key == "pg_tcp_user_timeout_ms") {
        pg_tcp_user_timeout_ms = parse_unsigned<unsigned>(key, value, 10, 0, 3'600'000);
    } else if (key == "pg_keepalives_idle_s") {
        pg_keepalives_idle_s = parse_unsigned<unsigned>(key, value, 10, 1, 86400);
    } else if (key == "pg_connections") {
        pg_connections = parse_unsigned<unsigned>(key, value, 10, 0, 256);
    } else if (key == "max_body_bytes") {
        max_body_bytes = parse_unsigned<std::size_t>(key, value, 10, 1, std::size_t{1} << 30);
    } else if (key == "max_page_bytes") {
        // At least 4 KiB: a page always holds one item, however large.
        max_page_bytes = parse_unsigned<std::size_t>(key, value, 10, 4096, std::size_t{1} << 30);
    } else if (key == "log_level") {
        invsys::log_level parsed;
        if (!parse_log_level(value, parsed))
            fail(key, "'" + value + "' is not one of debug, info, warn, error");
        log_level = value;
    } else if (key == "fastcgi_io_timeout_s") {
        fastcgi_io_timeout_s = parse_unsigned<unsigned>(key, value, 10, 1, 3600);
    } else if (key == "fastcgi_allowed_users") {
        fastcgi_allowed_users = check_id_list(key, value);
    } else if (key == "fastcgi_allowed_groups") {
        fastcgi_allowed_groups = check_id_list(key, value);
    } else if (key == "fastcgi_allowed_addrs") {
        fastcgi_allowed_addrs = check_address_list(key, value);
    } else if (key == "audit.retention_days") {
        audit_retention_days = parse_unsigned<unsigned>(key, value, 10, 0, 36500);
    } else if (key.starts_with("rules.")) {
        set_type_rule(*this, key, value);
    } else {
        throw std::runtime_error("unknown key '" + key + "'");
    }
}

config config::load(const std::string& path) {
    config cfg;
    if (!path.empty()) {
        std::ifstream file(path);
        if (!file) throw std::runtime_error(path + ": cannot be opened");
        std::set<std::string> seen;
        std::string line;
        for (unsigned number = 1; std::getline(file, line); ++number) {
            const std::string where = path + ":" + std::to_string(number) + ": ";
            const std::string text = trim(line);
            // Only whole-line comments: a value such as a PostgreSQL
            // password may itself contain '#'.
            if (text.empty() || text[0] == '#') continue;
            const auto equals = text.find('=');
            if (equals == std::string::npos)
                throw std::runtime_error(where + "expected 'key = value'");
            const std::string key = trim(std::string_view(text).substr(0, equals));
            const std::string value = trim(std::string_view(text).substr(equals + 1));
            if (!seen.insert(key).second)
                throw std::runtime_error(where + "'" + key + "' is set more than once");
            try {
                cfg.set(key, value);
            } catch (const std::runtime_error& e) {
                throw std::runtime_error(where + e.what());
            }
        }
        if (file.bad()) throw std::runtime_error(path + ": read error");
    }

    for (const char* key : keys) {
        const std::string name = environment_name(key);
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) continue;
        try {
            cfg.set(key, value);
        } catch (const std::runtime_error& e) {
            throw std::runtime_error("environment " + name + ": " + e.what());
        }
    }

    if (cfg.workers == 0) cfg.workers = std::max(1u, std::thread::hardware_concurrency());
    return cfg;
}

}  // namespace invsys
