// Route matching of raw paths against the route table. A path no pattern
// fits is error(not_found), nothing else; a matched route has its pattern's
// row, lower-case UUIDs exactly where the pattern has {id} and
// {allocation_id}, a collection (one non-empty segment) exactly where it has
// {collection}, methods for 405's Allow that find_method finds again, and the
// pattern filled in with its values matches the same route again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "error/error.hpp"
#include "fuzz_check.hpp"
#include "util/uuid.hpp"

using namespace invsys;

namespace {

void check_id(const std::string& id) {
    FUZZ_CHECK(is_uuid(id));
    FUZZ_CHECK(id.find_first_of("ABCDEF") == std::string::npos);
}

bool has(std::string_view pattern, std::string_view placeholder) {
    return pattern.find(placeholder) != std::string_view::npos;
}

// Placeholders are whole segments; the values may look like placeholders.
std::string filled_in(const route& r) {
    std::string path;
    std::string_view pattern = r.row->pattern;
    while (!pattern.empty()) {
        const std::size_t slash = pattern.find('/', 1);
        std::string_view segment = pattern.substr(0, slash);
        pattern = slash == std::string_view::npos ? std::string_view{} : pattern.substr(slash);
        if (segment == "/{collection}")
            path += "/" + r.collection;
        else if (segment == "/{id}")
            path += "/" + r.resource_id;
        else if (segment == "/{allocation_id}")
            path += "/" + r.allocation_id;
        else
            path += segment;
    }
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view path(reinterpret_cast<const char*>(data), size);
    route r;
    try {
        r = match_route(path);
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::not_found);
        return 0;
    }
    FUZZ_CHECK(r.row != nullptr);
    const std::string_view pattern = r.row->pattern;
    FUZZ_CHECK(has(pattern, "{collection}") != r.collection.empty());
    FUZZ_CHECK(r.collection.find('/') == std::string::npos);
    if (has(pattern, "{id}"))
        check_id(r.resource_id);
    else
        FUZZ_CHECK(r.resource_id.empty());
    if (has(pattern, "{allocation_id}"))
        check_id(r.allocation_id);
    else
        FUZZ_CHECK(r.allocation_id.empty());

    const auto methods = allowed_methods(r);
    FUZZ_CHECK(!methods.empty());
    for (const auto& method : methods) {
        const route_row* row = find_method(r, method);
        FUZZ_CHECK(row != nullptr && row->pattern == pattern);
    }
    FUZZ_CHECK(find_method(r, "BREW") == nullptr);

    const route again = match_route(filled_in(r));
    FUZZ_CHECK(again.row == r.row && again.collection == r.collection &&
               again.resource_id == r.resource_id && again.allocation_id == r.allocation_id);
    return 0;
}
