// Line-oriented logging to stderr: one line per event, prefixed with the
// UTC time, the process id and the level, written with a single write(2) so
// lines from several threads and processes never interleave.
#pragma once

#include <string_view>

namespace invsys {

enum class log_level { debug, info, warn, error };

// Messages below this level are dropped. Thread-safe.
void set_log_level(log_level level) noexcept;
// Parses "debug", "info", "warn", "error"; false when unknown.
bool parse_log_level(std::string_view text, log_level& out) noexcept;

void log(log_level level, std::string_view message) noexcept;
inline void log_debug(std::string_view m) noexcept { log(log_level::debug, m); }
inline void log_info(std::string_view m) noexcept { log(log_level::info, m); }
inline void log_warn(std::string_view m) noexcept { log(log_level::warn, m); }
inline void log_error(std::string_view m) noexcept { log(log_level::error, m); }

// Writes `json` (one JSON object, no newline) as a line of its own, with
// no prefix, whatever the level: the service's one line per request.
void log_json_line(std::string_view json) noexcept;

// While one lives, every line this thread logs ends with
// ` request_id=<id>`: the lines of one request can be found by its id.
// `id` must outlive it and be well formed (no spaces or control characters).
class log_request_scope {
  public:
    explicit log_request_scope(std::string_view id) noexcept;
    ~log_request_scope();
    log_request_scope(const log_request_scope&) = delete;
    log_request_scope& operator=(const log_request_scope&) = delete;

  private:
    std::string_view previous_;
};

}  // namespace invsys
