#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
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

TEST_CASE("new ids are time-ordered version 7 UUIDs in lower case", "[uuid]") {
    const auto ms_now = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    const long long before = ms_now();
    std::set<std::string> seen;
    std::string previous;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = new_uuid();
        INFO(id);
        REQUIRE(id.size() == 36);
        CHECK(is_uuid(id));
        CHECK(id[14] == '7');
        CHECK(std::string("89ab").find(id[19]) != std::string::npos);
        CHECK(id.find_first_not_of("0123456789abcdef-") == std::string::npos);
        // The first 48 bits: Unix time in milliseconds.
        const long long ms = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
        CHECK(ms >= before);
        CHECK(ms <= ms_now());
        // Ordered to the 1/4096 ms of their time stamp (the first 15 digits).
        CHECK(id.substr(0, 18) >= previous.substr(0, std::min<std::size_t>(18, previous.size())));
        previous = id;
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("a forked child never repeats its parent's id bits", "[uuid]") {
    (void)new_uuid();  // the parent's thread has random bytes left over
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        const std::string id = new_uuid();
        const bool ok = ::write(fds[1], id.data(), id.size()) == static_cast<ssize_t>(id.size());
        ::_exit(ok ? 0 : 1);
    }
    ::close(fds[1]);
    const std::string parent_id = new_uuid();
    char buffer[36];
    REQUIRE(::read(fds[0], buffer, sizeof buffer) == 36);
    ::close(fds[0]);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    // The random part (last 16 digits): parent and child took the next
    // bytes after the same point; they must differ.
    const std::string child_id(buffer, sizeof buffer);
    CHECK(child_id.substr(20) != parent_id.substr(20));
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
