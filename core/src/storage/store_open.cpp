#include <regex>
#include <stdexcept>
#include <string_view>

#include "storage/postgresql/store.hpp"
#include "storage/sqlite/store.hpp"
#include "storage/store.hpp"

namespace invsys {
namespace {

// One entry per backend, chosen by the URL's scheme.
struct backend_entry {
    std::string_view prefix;  // the scheme, including the ':'
    std::unique_ptr<store> (*open)(const std::string& rest, const store_options& options);
};

// `postgresql://…` (or `postgres://…`) is a libpq URI, passed whole;
// `postgresql:<conninfo>` passes a keyword/value string.
std::unique_ptr<store> open_postgresql(const std::string& rest, const store_options& options) {
    if (rest.starts_with("//")) return open_postgresql_store("postgresql:" + rest, options);
    return open_postgresql_store(rest, options);
}
std::unique_ptr<store> open_postgres_uri(const std::string& rest, const store_options& options) {
    return open_postgresql_store("postgresql://" + rest, options);
}

constexpr backend_entry backends[] = {
    {"sqlite:", &open_sqlite_store},
    {"postgresql:", &open_postgresql},
    {"postgres://", &open_postgres_uri},
};

bool is_postgresql_uri(const std::string& url) {
    return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

}  // namespace

std::string store::redacted_url(const std::string& url) {
    if (is_postgresql_uri(url)) {
        std::string out = url;
        // scheme://[user[:password]@]host…/dbname?key=value&…
        const std::size_t authority = out.find("://") + 3;
        const std::size_t authority_end = out.find_first_of("/?", authority);
        const std::size_t at = out.rfind('@', authority_end);
        if (at != std::string::npos && at >= authority) {
            const std::size_t colon = out.find(':', authority);
            if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
        static const std::regex query_password("([?&](?:ssl)?password=)[^&]*");
        return std::regex_replace(out, query_password, "$1***");
    }
    if (url.starts_with("postgresql:")) {
        // keyword = value, the value bare or single-quoted (with \' and \\ escapes).
        static const std::regex keyword_password(
            R"(((?:^|[\s:])(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*))");
        return std::regex_replace(url, keyword_password, "$1***");
    }
    return url;
}

std::unique_ptr<store> store::open(const std::string& url, const store_options& options) {
    for (const backend_entry& b : backends) {
        if (url.starts_with(b.prefix)) return b.open(url.substr(b.prefix.size()), options);
    }
    // The URL itself stays out of the message: a PostgreSQL one may carry a password.
    throw std::runtime_error(
        "unsupported database URL (expected sqlite:<path>, postgresql://… or "
        "postgresql:<conninfo>)");
}

}  // namespace invsys
