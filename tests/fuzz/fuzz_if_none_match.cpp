// If-None-Match on GET /api/openapi.json: never throws, `*` and the tag
// itself (plain, weak, in a list) always hold, and a value that holds
// contains the tag's text or is `*`.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/openapi_etag.hpp"
#include "fuzz_check.hpp"

using namespace invsys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view etag = "\"openapi-0123456789abcdef\"";
    if (if_none_match_holds(input, etag)) {
        FUZZ_CHECK(input.find(etag) != std::string_view::npos ||
                   input.find('*') != std::string_view::npos);
    }
    // The input as the document's own tag: it names itself.
    const auto comma = input.find(',');
    const std::string_view own = input.substr(0, comma);
    if (!own.empty() && own.find_first_not_of(" \t") == 0 &&
        own.find(' ') == std::string_view::npos && own.find('\t') == std::string_view::npos &&
        !own.starts_with("W/")) {
        FUZZ_CHECK(if_none_match_holds(own, own));
        FUZZ_CHECK(if_none_match_holds("W/" + std::string(own), own));
        FUZZ_CHECK(if_none_match_holds("\"x\", " + std::string(own), own));
    }
    FUZZ_CHECK(if_none_match_holds("*", input));
    return 0;
}
