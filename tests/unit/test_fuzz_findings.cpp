// Inputs the fuzz targets (tests/fuzz/) found crashing or misbehaving, kept
// here so that every build checks them, not only the clang fuzz build. Each
// row names the target and what went wrong before the fix.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "api/router.hpp"
#include "error/error.hpp"
#include "json/codec.hpp"

using namespace invsys;
using namespace std::string_literals;

namespace {

struct body_case {
    const char* finding;
    std::string body;
};

// "decoded" when accepted, "invalid" when refused as such, "other" for any
// other error code; any other exception escapes and fails the test (a crash
// failed the process, as it once did).
template <typename Decode>
std::string outcome_of(Decode&& decode, const std::string& body) {
    try {
        decode(body);
        return "decoded";
    } catch (const error& e) {
        return e.code() == error_code::invalid ? "invalid" : "other";
    }
}

}  // namespace

TEST_CASE(
    "request bodies the JSON fuzz target found are decoded or refused as invalid, never crash",
    "[json][fuzz]") {
    const body_case cases[] = {
        // RapidJSON 1.1.0, CVE-2024-38517: the decimal exponent underflows
        // (signed overflow in GenericReader::ParseNumber, reader.h:1360).
        {"fuzz_json_body: exponent underflow in a dump",
         R"({"allocation_type": "booking", "dump": {"n": 0.0000000000e-2147483639}})"},
        {"fuzz_json_body: exponent underflow in an attribute",
         R"({"attributes": {"seats": 0.0000000000e-2147483639}})"},
        // RapidJSON issue #1251: exponents below about -348 read past
        // internal::GetCachedPower10's table with kParseFullPrecisionFlag
        // (diyfp.h:242; SIGSEGV in a Release worker).
        {"fuzz_json_body: out-of-bounds cached power in an attribute",
         R"({"attributes": {"max_load_kg": 1.00000000000000000000000000001e-340}})"},
        {"fuzz_json_body: out-of-bounds cached power in a dump",
         R"({"dump": {"n": 1.00000000000000000000000000001e-340}})"},
    };
    for (const auto& c : cases) {
        INFO(c.finding << ": " << c.body);
        const auto resource =
            outcome_of([](const std::string& b) { decode_resource_input(b); }, c.body);
        CHECK((resource == "decoded" || resource == "invalid"));
        const auto allocation =
            outcome_of([](const std::string& b) { decode_allocation_input(b); }, c.body);
        CHECK((allocation == "decoded" || allocation == "invalid"));
    }
}

TEST_CASE("segments that look like placeholders are matched as what they spell", "[router][fuzz]") {
    // fuzz_router: a collection named like a placeholder ("…{id}…") once
    // tripped the target's own round trip (it filled the pattern in by text
    // search); the router was right. Kept so that it stays right.
    struct row {
        std::string path, pattern, collection;
    };
    const row rows[] = {
        {"/api/{id}", "/api/{collection}", "{id}"},
        {"/api/{collection}", "/api/{collection}", "{collection}"},
        {"/api/carcars\xd1\x89ot-a-0b6{id-0b6{id}f6c1eu-", "/api/{collection}",
         "carcars\xd1\x89ot-a-0b6{id-0b6{id}f6c1eu-"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.path);
        const route matched = match_route(r.path);
        REQUIRE(matched.row != nullptr);
        CHECK(matched.row->pattern == r.pattern);
        CHECK(matched.collection == r.collection);
        CHECK(matched.resource_id.empty());
    }
    CHECK_THROWS_AS(match_route("/api/{collection}/{id}"), error);
}
