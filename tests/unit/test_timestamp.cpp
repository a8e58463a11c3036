#include <catch2/catch.hpp>
#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "time/timestamp.hpp"

using namespace invsys;
using namespace std::string_literals;

namespace {

constexpr std::int64_t s = 1'000'000;                    // microseconds per second
constexpr std::int64_t ten_o_clock = 1'893'492'000 * s;  // 2030-01-01T10:00:00Z

struct parse_case {
    std::string text;
    std::int64_t micros;
};

}  // namespace

TEST_CASE("RFC 3339 times with Z, offsets or no zone are read as the same instant", "[time]") {
    const parse_case cases[] = {
        {"2030-01-01T10:00:00Z", ten_o_clock},
        {"2030-01-01T12:00:00+02:00", ten_o_clock},
        {"2030-01-01T04:30:00-05:30", ten_o_clock},
        {"2030-01-01T10:00:00-00:00", ten_o_clock},
        {"2030-01-02T09:59:00+23:59", ten_o_clock},
        {"2030-01-01T10:00:00", ten_o_clock},  // the naive form is UTC
        {"2030-01-01t10:00:00z", ten_o_clock},
        {"2030-01-01t10:00:00", ten_o_clock},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59Z", -s},
        {"2026-11-28T03:06:43Z", 1'795'835'203 * s},
        {"2028-02-29T00:00:00Z", 1'835'395'200 * s},
        {"2000-02-29T12:00:00Z", 951'825'600 * s},
        {"0001-01-01T00:00:00Z", -62'135'596'800 * s},
        {"9999-12-31T23:59:59Z", 253'402'300'799 * s},
        {"9999-12-31T23:59:59.999999Z", 253'402'300'799 * s + 999'999},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(parse_timestamp(c.text) == c.micros);
    }
}

TEST_CASE("fractional seconds of any length are kept to the microsecond, rounding toward the past",
          "[time]") {
    const parse_case cases[] = {
        {"2030-01-01T10:00:00.1Z", ten_o_clock + 100'000},
        {"2030-01-01T10:00:00.12Z", ten_o_clock + 120'000},
        {"2030-01-01T10:00:00.123Z", ten_o_clock + 123'000},
        {"2030-01-01T10:00:00.1234Z", ten_o_clock + 123'400},
        {"2030-01-01T10:00:00.12345Z", ten_o_clock + 123'450},
        {"2030-01-01T10:00:00.123456Z", ten_o_clock + 123'456},
        {"2030-01-01T10:00:00.1234567Z", ten_o_clock + 123'456},
        {"2030-01-01T10:00:00.12345678Z", ten_o_clock + 123'456},
        {"2030-01-01T10:00:00.123456789Z", ten_o_clock + 123'456},
        {"2030-01-01T10:00:00.000000999999999999999Z", ten_o_clock},
        {"2030-01-01T10:00:00.5", ten_o_clock + 500'000},
        {"2030-01-01T12:00:00.9999999+02:00", ten_o_clock + 999'999},
        // Before the epoch: -0.1 µs lies in the microsecond that starts at -1 µs.
        {"1969-12-31T23:59:59.9999999Z", -1},
        {"1969-12-31T23:59:59.000001Z", -999'999},
        {"0001-01-01T00:00:00.0000009Z", -62'135'596'800 * s},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(parse_timestamp(c.text) == c.micros);
    }
}

TEST_CASE("impossible or malformed times are refused", "[time]") {
    const std::pair<const char*, const char*> cases[] = {
        {"2030-13-01T10:00:00Z", "month 13"},
        {"2030-00-01T10:00:00Z", "month 0"},
        {"2030-01-00T10:00:00Z", "day 0"},
        {"2030-01-32T10:00:00Z", "January 32"},
        {"2030-04-31T10:00:00Z", "April 31"},
        {"2030-02-30T10:00:00Z", "Feb 30"},
        {"2027-02-29T10:00:00Z", "Feb 29 of a common year"},
        {"1900-02-29T10:00:00Z", "Feb 29 of a century that is a common year"},
        {"2030-01-01T24:00:00Z", "hour 24"},
        {"2030-01-01T10:60:00Z", "minute 60"},
        {"2016-12-31T23:59:60Z", "a leap second"},
        {"2030-01-01T10:00:00+24:00", "offset beyond 23:59"},
        {"2030-01-01T10:00:00-24:00", "negative offset beyond 23:59"},
        {"2030-01-01T10:00:00+02:60", "offset minute 60"},
        {"2030-01-01T10:00:00+0200", "offset without colon"},
        {"2030-01-01T10:00:00+02", "offset without minutes"},
        {"2030-01-01T10:00:00+2:00", "one-digit offset hour"},
        {"2030-01-01T10:00Z", "seconds missing"},
        {"2030-01-01T10:00", "seconds missing, naive"},
        {"2030-01-01", "a date alone"},
        {"2030-1-01T10:00:00Z", "one-digit month"},
        {"2030-01-1T10:00:00Z", "one-digit day"},
        {"02030-01-01T10:00:00Z", "five-digit year"},
        {"2030-01-01T1:00:00Z", "one-digit hour"},
        {"2030-01-01T10:00:0Z", "one-digit second"},
        {"2030-01-01 10:00:00Z", "space instead of T"},
        {"2030-01-01T10:00:00.Z", "empty fraction"},
        {"2030-01-01T10:00:00.", "empty fraction at the end"},
        {"2030-01-01T10:00:00,5Z", "comma as decimal sign"},
        {"2030-01-01T10:00:00.5.5Z", "two fractions"},
        {"2030-01-01T10:00:00Zjunk", "trailing garbage"},
        {"2030-01-01T10:00:00ZZ", "two zones"},
        {"2030-01-01T10:00:00+02:00Z", "offset and Z"},
        {"2030-01-01T10:00:00Z ", "trailing space"},
        {" 2030-01-01T10:00:00Z", "leading space"},
        {"+2030-01-01T10:00:00Z", "signed year"},
        {"2030/01/01T10:00:00Z", "slashes"},
        {"0000-01-01T00:00:00Z", "year 0"},
        {"0001-01-01T00:00:00+00:01", "year 0 once in UTC"},
        {"9999-12-31T23:59:59-00:01", "year 10000 once in UTC"},
        {"garbage", "garbage"},
        {"now", "a word"},
        {"", "empty"},
    };
    for (const auto& [text, why] : cases) {
        INFO(why << ": " << text);
        CHECK_FALSE(parse_timestamp(text).has_value());
    }
}

TEST_CASE("a NUL byte inside a time is refused", "[time]") {
    CHECK_FALSE(parse_timestamp("2030-01-01T10:00:00\0Z"s).has_value());
    CHECK_FALSE(parse_timestamp("2030-01-01T10:00:00Z\0"s).has_value());
}

TEST_CASE("Feb 29 is accepted in leap years only", "[time]") {
    const parse_case leap[] = {
        {"2028-02-29T00:00:00Z", 1'835'395'200 * s},
        {"2000-02-29T12:00:00Z", 951'825'600 * s},
    };
    for (const auto& c : leap) {
        INFO(c.text);
        CHECK(parse_timestamp(c.text) == c.micros);
    }
    CHECK_FALSE(parse_timestamp("2027-02-29T00:00:00Z").has_value());
    CHECK_FALSE(parse_timestamp("2100-02-29T00:00:00Z").has_value());
}

TEST_CASE("times are written in UTC with a fraction only when there is one", "[time]") {
    const parse_case cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.000001Z", 1},
        {"1969-12-31T23:59:59.999999Z", -1},
        {"1969-12-31T23:59:59Z", -s},
        {"2030-01-01T10:00:00Z", ten_o_clock},
        {"2030-01-01T10:00:00.500000Z", ten_o_clock + 500'000},
        {"2030-01-01T10:00:00.123456Z", ten_o_clock + 123'456},
        {"0001-01-01T00:00:00Z", -62'135'596'800 * s},
        {"9999-12-31T23:59:59.999999Z", 253'402'300'799 * s + 999'999},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(format_timestamp(c.micros) == c.text);
        CHECK(parse_timestamp(format_timestamp(c.micros)) == c.micros);
    }
}

TEST_CASE("any accepted time formats back to its canonical UTC text", "[time]") {
    const std::pair<std::string, std::string> cases[] = {
        {"2030-01-01T12:00:00+02:00", "2030-01-01T10:00:00Z"},
        {"2030-01-01t10:00:00z", "2030-01-01T10:00:00Z"},
        {"2030-01-01T10:00:00", "2030-01-01T10:00:00Z"},
        {"2030-01-01T10:00:00.5Z", "2030-01-01T10:00:00.500000Z"},
        {"2030-01-01T10:00:00.000Z", "2030-01-01T10:00:00Z"},
        {"2030-01-01T10:00:00.1234569Z", "2030-01-01T10:00:00.123456Z"},
        {"2030-01-01T00:30:00+01:00", "2029-12-31T23:30:00Z"},
        {"2028-02-28T23:00:00-01:00", "2028-02-29T00:00:00Z"},
        {"1969-12-31T23:59:59.9999999Z", "1969-12-31T23:59:59.999999Z"},
    };
    for (const auto& [given, canonical] : cases) {
        INFO(given);
        const auto micros = parse_timestamp(given);
        REQUIRE(micros.has_value());
        CHECK(format_timestamp(*micros) == canonical);
    }
}

TEST_CASE("every day around the epoch, leap days included, round-trips", "[time]") {
    constexpr std::int64_t day = 86'400 * s;
    for (std::int64_t d = -800; d <= 800; ++d) {
        const std::int64_t micros = d * day + 3'723 * s + 7;
        INFO(micros);
        REQUIRE(parse_timestamp(format_timestamp(micros)) == micros);
    }
}

TEST_CASE("every field of a written time has its fixed width", "[time][format]") {
    // Single-digit values are zero-padded, the largest fill their field.
    const auto at = [](const char* text) { return *parse_timestamp(text); };
    const parse_case cases[] = {
        {"0001-01-01T00:00:00Z", at("0001-01-01T00:00:00Z")},
        {"0009-02-03T04:05:06Z", at("0009-02-03T04:05:06Z")},
        {"0010-10-10T10:10:10Z", at("0010-10-10T10:10:10Z")},
        {"0099-09-09T09:09:09Z", at("0099-09-09T09:09:09Z")},
        {"0100-12-31T23:59:59Z", at("0100-12-31T23:59:59Z")},
        {"0999-11-30T20:30:40Z", at("0999-11-30T20:30:40Z")},
        {"1000-01-31T01:01:01Z", at("1000-01-31T01:01:01Z")},
        {"9999-01-01T00:00:00Z", at("9999-01-01T00:00:00Z")},
        {"9999-12-31T23:59:59Z", at("9999-12-31T23:59:59Z")},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        CHECK(format_timestamp(c.micros) == c.text);
    }
}

TEST_CASE("microseconds are written as six digits, leading zeros kept", "[time][format]") {
    const std::pair<std::int64_t, const char*> cases[] = {
        {1, "2030-01-01T10:00:00.000001Z"},       {10, "2030-01-01T10:00:00.000010Z"},
        {100, "2030-01-01T10:00:00.000100Z"},     {1'000, "2030-01-01T10:00:00.001000Z"},
        {10'000, "2030-01-01T10:00:00.010000Z"},  {100'000, "2030-01-01T10:00:00.100000Z"},
        {999'999, "2030-01-01T10:00:00.999999Z"}, {90'807, "2030-01-01T10:00:00.090807Z"},
    };
    for (const auto& [fraction, text] : cases) {
        INFO(text);
        CHECK(format_timestamp(ten_o_clock + fraction) == text);
    }
    // One microsecond before the earliest and after the latest second.
    CHECK(format_timestamp(-62'135'596'800 * s + 1) == "0001-01-01T00:00:00.000001Z");
    CHECK(format_timestamp(253'402'300'799 * s + 1) == "9999-12-31T23:59:59.000001Z");
}

TEST_CASE("a year outside 0001-9999 is written in full, as printf's %04lld would",
          "[time][format]") {
    // The parser never yields one; a corrupt row must not be cut to four digits.
    CHECK(format_timestamp(253'402'300'800 * s) == "10000-01-01T00:00:00Z");
    CHECK(format_timestamp(-62'135'596'800 * s - 1) == "0000-12-31T23:59:59.999999Z");
    CHECK(format_timestamp(-62'167'219'200 * s - 1) == "-001-12-31T23:59:59.999999Z");
}

namespace {

// The formatter before it wrote digits itself: the oracle for the sweep below.
std::string printf_formatted(std::int64_t micros) {
    constexpr std::int64_t per_day = 86'400 * s;
    std::int64_t days = micros / per_day, rest = micros % per_day;
    if (rest < 0) {
        rest += per_day;
        --days;
    }
    // civil_from_days (Howard Hinnant), as in timestamp.cpp.
    std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
    const auto sec = rest / s, fraction = rest % s;
    char buffer[64];
    int n = std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02d:%02d:%02d",
                          static_cast<long long>(y), m, d, static_cast<int>(sec / 3600),
                          static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
    if (fraction != 0)
        n += std::snprintf(buffer + n, sizeof buffer - static_cast<std::size_t>(n), ".%06d",
                           static_cast<int>(fraction));
    return std::string(buffer, static_cast<std::size_t>(n)) + 'Z';
}

}  // namespace

TEST_CASE("the formatter writes what printf wrote, over years 1-9999", "[time][format]") {
    const std::int64_t earliest = -62'135'596'800 * s;
    const std::int64_t latest = 253'402'300'799 * s + 999'999;
    std::mt19937_64 random(14);
    std::uniform_int_distribution<std::int64_t> any(earliest, latest);
    for (int i = 0; i < 20'000; ++i) {
        // Every other value on a whole second, so both shapes are covered.
        std::int64_t micros = any(random);
        if (i % 2 == 0) micros -= ((micros % s) + s) % s;
        INFO(micros);
        REQUIRE(format_timestamp(micros) == printf_formatted(micros));
    }
}

TEST_CASE("the extremes of the microsecond range fit the buffer and match printf",
          "[time][format]") {
    for (const std::int64_t micros : {std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max(), std::int64_t{0}}) {
        INFO(micros);
        char buffer[max_timestamp_length];
        const std::size_t n = format_timestamp_to(buffer, micros);
        CHECK(n <= max_timestamp_length);
        CHECK(std::string(buffer, n) == printf_formatted(micros));
    }
}

TEST_CASE("the clock reads the present", "[time]") {
    const auto now = now_micros();
    CHECK(now > *parse_timestamp("2024-01-01T00:00:00Z"));
    CHECK(now < *parse_timestamp("2100-01-01T00:00:00Z"));
}
