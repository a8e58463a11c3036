// The HTTP-agnostic service: the whole API behind one call.
//
// A front end (the FastCGI worker, or a test) turns a transport request into
// an http_request, calls service::handle and writes the http_response back.
// Nothing here knows about FastCGI or nginx.
#pragma once

#include <cstddef>
#include <invsys/config.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace invsys {

struct http_request {
    std::string method;  // "GET", "POST", …
    std::string path;    // raw path as sent, without the query: "/api/cars/…"
    std::string query;   // raw query string without '?', may be empty
    // Header names in lower case ("if-match", "idempotency-key").
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // The gateway's request id (FastCGI parameter REQUEST_ID); may be empty
    // or malformed when something else reached the socket.
    std::string request_id;

    // The first header of that (lower-case) name, or nullptr.
    const std::string* header(std::string_view lower_case_name) const noexcept;
};

struct http_response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Type included
    std::string body;
};

struct service_options {
    // An earlier process of this pool opened the database and migrated it:
    // a PostgreSQL server that does not answer now is logged, and the
    // service starts anyway, answering 503 until the server is back (a
    // worker restarted during an outage must serve, not crash-loop).
    bool database_migrated_before = false;
};

class service {
  public:
    // Loads the plugins from cfg.plugin_dir, opens the database and applies
    // pending migrations. Throws std::runtime_error when the database cannot
    // be opened or migrated (but see service_options); plugins that fail
    // to load are logged and skipped.
    explicit service(const config& cfg, const service_options& options = {});
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    // Answers one request. Never throws: every failure becomes a
    // problem+json response. Safe to call from many threads at once.
    http_response handle(const http_request& request) noexcept;

    // Names of the loaded resource types, for start-up logs.
    std::vector<std::string> type_names() const;

    // The plugin files of `plugin_dir` as they are now, in the form of
    // config::plugin_manifest (what one generation of workers loads), and
    // how many of the files a manifest lists are still there. Throws
    // std::runtime_error when the directory cannot be read.
    static std::string list_plugins(const std::string& plugin_dir);
    static std::size_t plugin_count(const std::string& plugin_dir,
                                    const std::string& plugin_manifest);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace invsys
