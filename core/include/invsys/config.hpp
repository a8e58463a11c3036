// The service configuration: one file of `key = value` lines, then
// environment overrides (INVSYS_<KEY> in upper case, e.g. INVSYS_DATABASE),
// so a container can be configured without editing the file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace invsys {

// One type's allocation rules as the configuration overrides them
// (`rules.<Type>.<rule> = value`, docs/api.md "Per-type rules"): each
// given rule replaces what the type's plugin declared; the rest stay.
struct type_rule_overrides {
    std::optional<std::vector<std::string>> allocation_types;  // empty: any
    // Per allocation_type: (minimum, maximum), microseconds; either absent.
    std::map<std::string, std::pair<std::optional<std::int64_t>, std::optional<std::int64_t>>>
        durations;
    std::optional<std::int64_t> buffer_before_us;
    std::optional<std::int64_t> buffer_after_us;
    std::optional<std::int64_t> min_notice_us;
};

struct config {
    // `sqlite:<path>` (default backend) or `postgresql://…` / `postgresql:<conninfo>`.
    std::string database = "sqlite:data/invsys.db";
    // Directory scanned for resource-type plugins (*.so).
    std::string plugin_dir = "plugins";
    // Not a key: set by the pool's master for each generation (and passed
    // to its check child), the plugin files that generation loads, by
    // identity (core/src/plugins/plugin_manifest.hpp). Empty: every *.so
    // in plugin_dir, as found.
    std::string plugin_manifest;
    // `unix:<path>` or `<ipv4-or-host>:<port>` (loopback or a private network only).
    std::string listen = "unix:run/invsys.sock";
    // Group given to the unix socket (empty: the process's own group).
    std::string socket_group;
    // Permission bits of the unix socket.
    unsigned socket_mode = 0660;
    // Worker processes of the pool (0: one per core).
    unsigned workers = 0;
    // Accepting threads per worker.
    unsigned threads = 4;
    // A worker is recycled after this many requests (0: never).
    unsigned max_requests = 0;
    // A request whose handler runs longer than this many seconds gets its
    // worker killed (reading the request and writing the answer excluded).
    unsigned request_timeout_s = 30;
    // How long in-flight requests may take to finish on stop or reload.
    unsigned shutdown_timeout_s = 30;
    // How long a writer waits for a busy database before answering 503.
    unsigned busy_timeout_ms = 5000;
    // SQLite: at most this many writes of one worker process share one
    // transaction and its one fsync (group commit; 1: each write commits
    // alone). PostgreSQL commits each write itself.
    unsigned sqlite_commit_group_max = 64;
    // SQLite: connections per worker process, at most `threads` (0: one
    // per thread), and the page cache of each, in KiB (PRAGMA cache_size =
    // -N). Each connection fills a cache of its own: their product is most
    // of a worker's memory beyond its code. Fewer connections than threads
    // make threads wait for one (within busy_timeout_ms); a cache smaller
    // than what one request reads makes every request read it again.
    unsigned sqlite_connections = 2;
    unsigned sqlite_cache_kib = 2000;
    // PostgreSQL that stops answering (see docs/hardening.md): how long
    // opening a connection may take (libpq's connect_timeout, seconds);
    // how long one statement may run before the server cancels it
    // (statement_timeout) — and, a second later, before invsys itself
    // gives up on a server that does not answer at all; how long sent data
    // may stay unacknowledged (tcp_user_timeout, 0 = the kernel's); and
    // after how many idle seconds TCP keepalives probe the connection.
    unsigned pg_connect_timeout_s = 5;
    unsigned pg_statement_timeout_ms = 10000;
    unsigned pg_tcp_user_timeout_ms = 10000;
    unsigned pg_keepalives_idle_s = 10;
    // PostgreSQL connections per worker process, at most `threads` (0: one
    // per thread). Fewer make threads wait for one (within busy_timeout_ms).
    unsigned pg_connections = 0;
    // Largest request body accepted (bytes).
    std::size_t max_body_bytes = 1024 * 1024;
    // Largest list page (bytes of JSON): a page stops before the item that
    // would take it past this, with at least one item, and Link goes on.
    std::size_t max_page_bytes = 1024 * 1024;
    // debug, info, warn, error.
    std::string log_level = "info";
    // How long the audit trail keeps an entry (`audit.retention_days`,
    // INVSYS_AUDIT_RETENTION_DAYS); 0 keeps every entry forever. Pruned in
    // batches, at most once a minute per worker (audit/retention.hpp).
    unsigned audit_retention_days = 0;
    // A FastCGI connection whose peer neither sends nor reads for this long
    // (seconds) is closed; also the longest its request header, its body
    // or its response may take as a whole.
    unsigned fastcgi_io_timeout_s = 30;
    // Unix socket peers allowed besides invsys's own uid and the socket's
    // group: comma-separated user names or uids, group names or gids
    // (matched against the peer's primary gid).
    std::string fastcgi_allowed_users;
    std::string fastcgi_allowed_groups;
    // TCP peers allowed: comma-separated addresses, each with an optional
    // /prefix (IPv4 or IPv6).
    std::string fastcgi_allowed_addrs = "127.0.0.0/8,::1";
    // Per type name: allocation rules that replace the plugin's (file only,
    // no environment override).
    std::map<std::string, type_rule_overrides, std::less<>> type_rules;

    // Reads `path` (when not empty), then applies INVSYS_* environment
    // variables. Throws std::runtime_error naming the file, line and key on
    // an unknown key or a malformed value.
    static config load(const std::string& path);

    // Applies one `key`/`value` pair; throws std::runtime_error when the key
    // is unknown or the value malformed.
    void set(const std::string& key, const std::string& value);
};

// An IPv4 or IPv6 address range; IPv4 is held as IPv4-mapped IPv6
// (::ffff:a.b.c.d), so that one comparison serves both families.
struct address_range {
    std::array<unsigned char, 16> bytes{};
    unsigned prefix_bits = 128;
    bool contains(const std::array<unsigned char, 16>& address) const noexcept;
};

// "10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"; nullopt when malformed.
std::optional<address_range> parse_address_range(std::string_view text);

}  // namespace invsys
