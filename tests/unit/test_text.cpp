#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "util/text.hpp"
#include "util/uuid.hpp"

using namespace invsys;
using namespace std::string_literals;

TEST_CASE("text length is counted in code points, not bytes", "[text]") {
    const std::pair<std::string, std::size_t> cases[] = {
        {"", 0},      {"Car1", 4},
        {"é", 1},     {"Zürich", 6},
        {"日本", 2},  {"\xf0\x9f\x9a\x97", 1},  // 🚗
        {"a\0b"s, 3}, {std::string(64, 'x'), 64},
    };
    for (const auto& [text, count] : cases) {
        INFO(text);
        CHECK(code_points(text) == count);
    }
}

TEST_CASE("C0 controls and DEL are control characters, other code points are not", "[text]") {
    const std::pair<std::string, bool> cases[] = {
        {"plain name", false}, {"Zürich", false}, {"日本", false},
        {"\xc2\x85", false},  // U+0085 is a C1 control, which names may hold
        {"\xc2\xa0", false},   {"", false},       {"tab\there", true},
        {"new\nline", true},   {"cr\r", true},    {"\x1f", true},
        {"del\x7f", true},     {"nul\0"s, true},  {"\x01", true},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        CHECK(has_control_characters(text) == expected);
    }
}

TEST_CASE("percent escapes are decoded and a plus sign stays a plus sign", "[text]") {
    const std::pair<std::string, std::string> cases[] = {
        {"", ""},
        {"booking", "booking"},
        {"2030-01-01T10:00:00+02:00", "2030-01-01T10:00:00+02:00"},
        {"2030-01-01T10%3A00%3A00%2B02%3A00", "2030-01-01T10:00:00+02:00"},
        {"a%20b", "a b"},
        {"%c3%a9", "é"},
        {"%C3%A9", "é"},
        {"%00", "\0"s},
        {"%25", "%"},
    };
    for (const auto& [in, expected] : cases) {
        INFO(in);
        std::string out = "stale";
        CHECK(percent_decode(in, out));
        CHECK(out == expected);
    }
}

TEST_CASE("a malformed percent escape is refused", "[text]") {
    const std::string in =
        GENERATE(as<std::string>{}, "%", "a%", "%4", "a%4", "%zz", "%4g", "%g4", "%%41", "100%");
    INFO(in);
    std::string out;
    CHECK_FALSE(percent_decode(in, out));
}

TEST_CASE("new ids are random version 4 UUIDs in lower case", "[uuid]") {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        const std::string id = new_uuid();
        INFO(id);
        REQUIRE(id.size() == 36);
        CHECK(is_uuid(id));
        CHECK(id[14] == '4');
        CHECK(std::string("89ab").find(id[19]) != std::string::npos);
        CHECK(id.find_first_not_of("0123456789abcdef-") == std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 100);
}

TEST_CASE("only the canonical 36-character UUID form is recognised", "[uuid]") {
    const std::pair<std::string, bool> cases[] = {
        {"0b6f6c1e-1b2c-4d3e-8f40-0123456789ab", true},
        {"0B6F6C1E-1B2C-4D3E-8F40-0123456789AB", true},
        {"00000000-0000-0000-0000-000000000000", true},
        {"", false},
        {"0b6f6c1e-1b2c-4d3e-8f40-0123456789a", false},
        {"0b6f6c1e-1b2c-4d3e-8f40-0123456789abc", false},
        {"0b6f6c1e1b2c-4d3e-8f40-0123456789ab-", false},
        {"0b6f6c1e-1b2c-4d3e-8f40-0123456789ag", false},
        {"{b6f6c1e-1b2c-4d3e-8f40-0123456789ab}", false},
        {"0b6f6c1e 1b2c 4d3e 8f40 0123456789ab", false},
        {"0b6f6c1e-1b2c-4d3e-8f40-0123456789a\0"s, false},
        {"../../../../../../../../../etc/passwd", false},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        CHECK(is_uuid(text) == expected);
    }
}

TEST_CASE("well-formed UTF-8 is told from malformed bytes", "[text]") {
    struct row {
        std::string bytes;
        bool valid;
    };
    const std::vector<row> rows{
        {"", true},
        {"plain ascii", true},
        {"\xc3\xa9t\xc3\xa9", true},  // été
        {"\xe2\x82\xac", true},       // €
        {"\xf0\x9f\x9a\x97", true},   // 🚗
        {"\xf4\x8f\xbf\xbf", true},   // U+10FFFF
        {"\xff", false},
        {"\xc3\x28", false},          // bad continuation
        {"\xc0\xaf", false},          // overlong '/'
        {"\xe0\x80\xaf", false},      // overlong '/'
        {"\xed\xa0\x80", false},      // a surrogate
        {"\xf4\x90\x80\x80", false},  // beyond U+10FFFF
        {"\xe2\x82", false},          // truncated
        {"\x80", false},              // a lone continuation byte
    };
    for (const auto& r : rows) {
        CAPTURE(r.bytes);
        CHECK(is_valid_utf8(r.bytes) == r.valid);
    }
}
