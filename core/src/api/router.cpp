#include "api/router.hpp"

#include "error/error.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        segments.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return segments;
}

[[noreturn]] void no_such_path() { throw error(error_code::not_found, "no such resource"); }

std::string checked_id(std::string_view segment) {
    if (!is_uuid(segment)) no_such_path();
    std::string id(segment);
    // Ids are issued in lower case; an upper-case spelling names the same id.
    for (char& c : id) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    return id;
}

}  // namespace

const std::vector<std::string>& allowed_methods(route_kind kind) {
    static const std::vector<std::string> read_only{"GET", "HEAD"};
    static const std::vector<std::string> listing{"GET", "HEAD", "POST"};
    static const std::vector<std::string> item{"GET", "HEAD", "PATCH", "DELETE"};
    switch (kind) {
        case route_kind::health:
        case route_kind::types:
            return read_only;
        case route_kind::collection:
        case route_kind::allocations:
            return listing;
        case route_kind::resource:
        case route_kind::allocation:
            return item;
    }
    return read_only;
}

route match_route(std::string_view path) {
    constexpr std::string_view prefix = "/api/";
    if (path.substr(0, prefix.size()) != prefix) no_such_path();
    path.remove_prefix(prefix.size());
    // One trailing slash is tolerated: "/api/cars/" is "/api/cars".
    if (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.empty()) no_such_path();

    const auto segments = split_segments(path);
    for (auto segment : segments) {
        if (segment.empty()) no_such_path();
    }

    route r;
    if (segments.size() == 1 && segments[0] == "health") {
        r.kind = route_kind::health;
        return r;
    }
    if (segments.size() == 1 && segments[0] == "types") {
        r.kind = route_kind::types;
        return r;
    }
    r.collection = std::string(segments[0]);
    switch (segments.size()) {
        case 1:
            r.kind = route_kind::collection;
            return r;
        case 2:
            r.kind = route_kind::resource;
            r.resource_id = checked_id(segments[1]);
            return r;
        case 3:
            if (segments[2] != "allocations") no_such_path();
            r.kind = route_kind::allocations;
            r.resource_id = checked_id(segments[1]);
            return r;
        case 4:
            if (segments[2] != "allocations") no_such_path();
            r.kind = route_kind::allocation;
            r.resource_id = checked_id(segments[1]);
            r.allocation_id = checked_id(segments[3]);
            return r;
        default:
            no_such_path();
    }
}

}  // namespace invsys
