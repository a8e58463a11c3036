// The service configuration: one file of `key = value` lines, then
// environment overrides (INVSYS_<KEY> in upper case, e.g. INVSYS_DATABASE),
// so a container can be configured without editing the file.
#pragma once

#include <cstddef>
#include <string>

namespace invsys {

struct config {
    // `sqlite:<path>` (default backend) or `postgresql://…` / `postgresql:<conninfo>`.
    std::string database = "sqlite:data/invsys.db";
    // Directory scanned for resource-type plugins (*.so).
    std::string plugin_dir = "plugins";
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
    // A request running longer than this many seconds gets its worker killed.
    unsigned request_timeout_s = 30;
    // How long in-flight requests may take to finish on stop or reload.
    unsigned shutdown_timeout_s = 30;
    // How long a writer waits for a busy database before answering 503.
    unsigned busy_timeout_ms = 5000;
    // Largest request body accepted (bytes).
    std::size_t max_body_bytes = 1024 * 1024;
    // Largest list page (bytes of JSON): a page stops before the item that
    // would take it past this, with at least one item, and Link goes on.
    std::size_t max_page_bytes = 1024 * 1024;
    // debug, info, warn, error.
    std::string log_level = "info";

    // Reads `path` (when not empty), then applies INVSYS_* environment
    // variables. Throws std::runtime_error naming the file, line and key on
    // an unknown key or a malformed value.
    static config load(const std::string& path);

    // Applies one `key`/`value` pair; throws std::runtime_error when the key
    // is unknown or the value malformed.
    void set(const std::string& key, const std::string& value);
};

}  // namespace invsys
