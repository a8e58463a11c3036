// Query-string parameters of the listing endpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace invsys {

inline constexpr std::size_t default_page_size = 100;
inline constexpr std::size_t max_page_size = 1000;

class query_params {
  public:
    // Percent-decodes `query` and refuses (error invalid) malformed
    // escapes, repeated parameters and parameters not in `known`, so that a
    // misspelt filter is an error rather than silently ignored.
    query_params(std::string_view query, std::initializer_list<std::string_view> known);

    const std::string* get(std::string_view name) const noexcept;

    // `limit`: 1–max_page_size, default_page_size when absent.
    std::size_t limit() const;
    // `after`: an id, or nullopt. An id that is not a UUID can name nothing
    // and is refused here (400, field "after").
    std::optional<std::string> after() const;
    // A timestamp parameter (400 naming it when malformed), nullopt when absent.
    std::optional<std::int64_t> timestamp(std::string_view name) const;
    // `true` / `false`, `fallback` when absent; 400 otherwise.
    bool flag(std::string_view name, bool fallback) const;

    // The Link header value for the next page of `path`: every parameter
    // but `after`, then after=<last_id>, percent-encoded, rel="next".
    std::string next_page_link(std::string_view path, std::string_view last_id) const;
    // The same with `name`=`value` in place of `name` (free gaps go on
    // from a time, not after an id).
    std::string next_page_link_with(std::string_view path, std::string_view name,
                                    std::string_view value) const;

  private:
    std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace invsys
