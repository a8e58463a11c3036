#include <stdexcept>
#include <string_view>

#include "storage/sqlite_store.hpp"
#include "storage/store.hpp"

namespace invsys {
namespace {

// One entry per backend, chosen by the URL's scheme. PostgreSQL joins as
// {"postgresql:", open_postgresql_store} (behind INVSYS_HAVE_POSTGRESQL,
// like its client library); nothing else changes.
struct backend_entry {
    std::string_view scheme;  // including the ':'
    std::unique_ptr<store> (*open)(const std::string& rest, const store_options& options);
};

constexpr backend_entry backends[] = {
    {"sqlite:", &open_sqlite_store},
};

}  // namespace

std::unique_ptr<store> store::open(const std::string& url, const store_options& options) {
    for (const backend_entry& b : backends) {
        if (url.starts_with(b.scheme)) return b.open(url.substr(b.scheme.size()), options);
    }
    // The URL itself stays out of the message: a PostgreSQL one may carry a password.
    throw std::runtime_error("unsupported database URL (expected sqlite:<path>)");
}

}  // namespace invsys
