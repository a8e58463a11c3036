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

}  // namespace invsys
