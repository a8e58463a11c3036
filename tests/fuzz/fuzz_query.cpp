// The query-string parser with each endpoint's set of known parameters, and
// every accessor the handlers call. Errors are error(invalid) only; what
// is accepted is UTF-8 without NUL; limit is within 1–max_page_size; `after`
// is a lower-case id; the next-page link's query parses back to the same
// parameters.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "api/query.hpp"
#include "error/error.hpp"
#include "fuzz_check.hpp"
#include "util/text.hpp"
#include "util/uuid.hpp"

using namespace invsys;

namespace {

constexpr std::string_view last_id = "0b6f6c1e-2d7a-4c3e-9f00-1234567890ab";

template <class F>
void refused_as_invalid(F&& call) {
    try {
        call();
    } catch (const error& e) {
        FUZZ_CHECK(e.code() == error_code::invalid);
        FUZZ_CHECK(!e.errors.empty());
    }
}

void fuzz_with(std::string_view query, std::initializer_list<std::string_view> known) {
    std::optional<query_params> parsed;
    refused_as_invalid([&] { parsed.emplace(query, known); });
    if (!parsed) return;
    for (const auto name : known) {
        if (const std::string* value = parsed->get(name)) {
            FUZZ_CHECK(is_valid_utf8(*value));
            FUZZ_CHECK(value->find('\0') == std::string::npos);
        }
    }
    refused_as_invalid([&] {
        const std::size_t limit = parsed->limit();
        FUZZ_CHECK(limit >= 1 && limit <= max_page_size);
    });
    refused_as_invalid([&] {
        if (const auto after = parsed->after()) {
            FUZZ_CHECK(is_uuid(*after));
            FUZZ_CHECK(after->find_first_of("ABCDEF") == std::string::npos);
        }
    });
    refused_as_invalid([&] { (void)parsed->timestamp("from"); });
    refused_as_invalid([&] { (void)parsed->timestamp("to"); });
    refused_as_invalid([&] { (void)parsed->flag("force", false); });

    const std::string link = parsed->next_page_link("/api/cars", last_id);
    const std::size_t open = link.find('?');
    const std::size_t close = link.find('>');
    FUZZ_CHECK(link.front() == '<' && open != std::string::npos && close != std::string::npos);
    FUZZ_CHECK(link.substr(close) == ">; rel=\"next\"");
    if (std::find(known.begin(), known.end(), "after") == known.end()) return;
    const query_params next(std::string_view(link).substr(open + 1, close - open - 1), known);
    for (const auto name : known) {
        const std::string* before = parsed->get(name);
        const std::string* now = next.get(name);
        if (name == "after") {
            FUZZ_CHECK(now && *now == last_id);
        } else {
            FUZZ_CHECK((before == nullptr) == (now == nullptr));
            if (before) FUZZ_CHECK(*before == *now);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view query(reinterpret_cast<const char*>(data), size);
    fuzz_with(query, {"from", "to", "allocation_type", "limit", "after"});  // allocations
    fuzz_with(query, {"limit", "after"});                                   // resources
    fuzz_with(query, {"force"});                                            // DELETE
    fuzz_with(query, {"from", "to", "limit", "after"});                     // availability
    fuzz_with(query, {"from", "to", "limit"});                              // free gaps
    return 0;
}
