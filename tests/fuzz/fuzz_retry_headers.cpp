// The safe-retry inputs: the If-Match header, the Idempotency-Key header and
// the canonical JSON that decides whether two bodies are the same request.
// Errors are error(invalid) naming the header only. An accepted If-Match is
// `*` (any) or a list whose versions each appear in the input spelt as our
// ETag; our own ETag parses back to its version. An accepted key is 1-255
// printable ASCII characters. A canonical text is its own canonical text,
// and the fingerprint of a body is that of its canonical text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/etag.hpp"
#include "api/idempotency.hpp"
#include "error/error.hpp"
#include "fuzz_check.hpp"
#include "json/codec.hpp"

using namespace invsys;

namespace {

void refused_naming(const error& e, std::string_view field) {
    FUZZ_CHECK(e.code() == error_code::invalid);
    FUZZ_CHECK(e.errors.size() == 1);
    FUZZ_CHECK(e.errors[0].field == field);
}

void fuzz_if_match(std::string_view input) {
    try {
        const version_condition c = parse_if_match(input);
        if (c.any) {
            FUZZ_CHECK(input.find('*') != std::string_view::npos);
            return;
        }
        FUZZ_CHECK(c.versions.size() <= input.size() / 3);
        for (std::int64_t v : c.versions) {
            FUZZ_CHECK(v > 0);
            const std::string tag = etag_of(v);
            FUZZ_CHECK(input.find(tag) != std::string_view::npos);
            FUZZ_CHECK(parse_if_match(tag).holds(v));
            FUZZ_CHECK(!parse_if_match("W/" + tag).holds(v));
        }
    } catch (const error& e) {
        refused_naming(e, "If-Match");
    }
}

void fuzz_idempotency_key(std::string_view input) {
    try {
        check_idempotency_key(input);
        FUZZ_CHECK(!input.empty() && input.size() <= max_idempotency_key_length);
        for (unsigned char c : input) FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
    } catch (const error& e) {
        refused_naming(e, "Idempotency-Key");
    }
}

void fuzz_canonical_body(std::string_view input) {
    const auto canonical = canonical_json(input);
    if (!canonical) return;
    // White space goes, escapes never grow: never longer than the input.
    FUZZ_CHECK(canonical->size() <= input.size());
    FUZZ_CHECK(canonical_json(*canonical) == canonical);
    http_request a, b;
    a.method = b.method = "POST";
    a.path = b.path = "/api/cars";
    a.body = std::string(input);
    b.body = *canonical;
    FUZZ_CHECK(request_fingerprint(a) == request_fingerprint(b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz_if_match(input);
    fuzz_idempotency_key(input);
    fuzz_canonical_body(input);
    return 0;
}
