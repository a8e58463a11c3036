#include "api/router.hpp"

#include <algorithm>

#include "error/error.hpp"
#include "util/uuid.hpp"

namespace invsys {
namespace {

constexpr std::string_view api_prefix = "/api/";
constexpr std::string_view collection_placeholder = "{collection}";

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

std::vector<std::string_view> pattern_segments(std::string_view pattern) {
    return split_segments(pattern.substr(api_prefix.size()));
}

bool is_placeholder(std::string_view segment) noexcept {
    return !segment.empty() && segment.front() == '{';
}

// Ids are issued in lower case; an upper-case spelling names the same id.
std::string lower_id(std::string_view segment) {
    std::string id(segment);
    for (char& c : id) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    }
    return id;
}

// One pattern of the table, split once: matching runs on every request.
struct compiled_pattern {
    const route_row* first_row;
    std::vector<std::string_view> segments;
};

const std::vector<compiled_pattern>& compiled_patterns() {
    static const std::vector<compiled_pattern> patterns = [] {
        std::vector<compiled_pattern> out;
        for (const route_row& row : route_table()) {
            if (!out.empty() && out.back().first_row->pattern == row.pattern) continue;
            out.push_back({&row, pattern_segments(row.pattern)});
        }
        return out;
    }();
    return patterns;
}

// How many segments of `segments` match `wanted` literally (the more, the
// better the fit), or -1 when they do not fit. Nothing is copied: only the
// best fit of a request is filled in (fill), not every pattern that fits.
int fit(const std::vector<std::string_view>& wanted,
        const std::vector<std::string_view>& segments) {
    if (wanted.size() != segments.size()) return -1;
    int literals = 0;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        const std::string_view want = wanted[i];
        const std::string_view got = segments[i];
        if (!is_placeholder(want)) {
            if (want != got) return -1;
            ++literals;
        } else if (want != collection_placeholder && !is_uuid(got)) {
            return -1;
        }
    }
    return literals;
}

// The placeholders of a pattern that fit (see fit).
void fill(const std::vector<std::string_view>& wanted,
          const std::vector<std::string_view>& segments, route& out) {
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        const std::string_view want = wanted[i];
        const std::string_view got = segments[i];
        if (!is_placeholder(want)) continue;
        if (want == collection_placeholder)
            out.collection = std::string(got);
        else
            (want == "{id}" ? out.resource_id : out.allocation_id) = lower_id(got);
    }
}

[[noreturn]] void no_such_path() { throw error(error_code::not_found, "no such resource"); }

}  // namespace

route match_route(std::string_view path) {
    // Prometheus scrapes /metrics by default: the same row as /api/metrics.
    if (path == "/metrics") path = "/api/metrics";
    if (path.substr(0, api_prefix.size()) != api_prefix) no_such_path();
    path.remove_prefix(api_prefix.size());
    // One trailing slash is tolerated: "/api/cars/" is "/api/cars".
    if (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (path.empty()) no_such_path();
    const auto segments = split_segments(path);
    if (std::any_of(segments.begin(), segments.end(), [](auto s) { return s.empty(); }))
        no_such_path();

    const compiled_pattern* best = nullptr;
    int best_literals = -1;
    for (const compiled_pattern& pattern : compiled_patterns()) {
        const int literals = fit(pattern.segments, segments);
        if (literals > best_literals) {
            best_literals = literals;
            best = &pattern;
        }
    }
    if (best == nullptr) no_such_path();
    route out;
    out.row = best->first_row;
    fill(best->segments, segments, out);
    return out;
}

const route_row* find_method(const route& where, std::string_view method) noexcept {
    const std::string_view wanted = method == "HEAD" ? "GET" : method;
    for (const route_row& row : route_table()) {
        if (row.pattern == where.row->pattern && row.method == wanted) return &row;
    }
    return nullptr;
}

std::vector<std::string> allowed_methods(const route& where) {
    std::vector<std::string> methods;
    for (const route_row& row : route_table()) {
        if (row.pattern != where.row->pattern) continue;
        methods.emplace_back(row.method);
        if (row.method == "GET") methods.emplace_back("HEAD");
    }
    return methods;
}

std::vector<std::string> reserved_collection_names() {
    std::vector<std::size_t> collection_positions;
    for (const route_row& row : route_table()) {
        const auto segments = pattern_segments(row.pattern);
        for (std::size_t i = 0; i < segments.size(); ++i)
            if (segments[i] == collection_placeholder) collection_positions.push_back(i);
    }
    std::vector<std::string> reserved;
    for (const route_row& row : route_table()) {
        const auto segments = pattern_segments(row.pattern);
        for (const std::size_t i : collection_positions) {
            if (i >= segments.size() || is_placeholder(segments[i])) continue;
            const std::string name(segments[i]);
            if (std::find(reserved.begin(), reserved.end(), name) == reserved.end())
                reserved.push_back(name);
        }
    }
    return reserved;
}

}  // namespace invsys
