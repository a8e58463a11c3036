// Hostile and edge-case numbers: none reaches RapidJSON's conversion, each is
// a value or a 400 naming its field, and a dump keeps them as written.
#include <catch2/catch.hpp>
#include <string>

#include "json/codec.hpp"
#include "json/number_text.hpp"

using namespace invsys;
using kind = raw_attribute::json_kind;

namespace {

// The two inputs that crash Debian's RapidJSON 1.1.0 number conversion.
const std::string oob_read = "1.00000000000000000000000000001e-340";  // upstream #1251
const std::string underflow = "0.0000000000e-2147483639";             // CVE-2024-38517

raw_attribute attribute_of(const std::string& number) {
    const auto input = decode_resource_input(R"({"attributes":{"x":)" + number + "}}");
    REQUIRE(input.attributes->size() == 1);
    return input.attributes->front().second;
}

}  // namespace

TEST_CASE("the JSON number grammar is checked exactly", "[json][numbers]") {
    const char* valid[] = {"0",
                           "-0",
                           "1",
                           "-1",
                           "10",
                           "0.5",
                           "-0.5",
                           "1e5",
                           "1E5",
                           "1e+5",
                           "1e-5",
                           "1.5e-5",
                           "123456789012345678901234567890",
                           "0e0",
                           "-0.0e-0"};
    for (const char* t : valid) {
        INFO(t);
        CHECK(is_json_number(t));
    }
    const char* invalid[] = {"",    "-",   "+1",    "01",    "-01",      "1.",
                             ".5",  "1e",  "1e+",   "e5",    "1.e5",     "0x1",
                             "1-2", "--1", "1e5e5", "1.5.5", "Infinity", "NaN"};
    for (const char* t : invalid) {
        INFO(t);
        CHECK_FALSE(is_json_number(t));
    }
}

TEST_CASE("number tokens are found outside strings only", "[json][numbers]") {
    const std::string json = R"({"a1":"x\"2",  "b":-3.5e2,"c":[4]})";
    const auto first = next_number_token(json, 0);
    REQUIRE(first.offset != std::string::npos);
    CHECK(json.substr(first.offset, first.length) == "-3.5e2");
    const auto second = next_number_token(json, first.offset + first.length);
    CHECK(json.substr(second.offset, second.length) == "4");
    CHECK(next_number_token(json, second.offset + 1).offset == std::string::npos);
}

TEST_CASE("numbers convert with from_chars: integers, doubles, and what is out of range",
          "[json][numbers]") {
    using k = number_value::kind;
    struct number_case {
        std::string text;
        k what;
        double number;
    };
    const std::string long_one = "1" + std::string(5000, '0');
    const std::string long_fraction = "1." + std::string(5000, '0') + "1";
    const std::string long_small = "0." + std::string(5000, '0') + "1";
    const number_case cases[] = {
        {"5", k::integer, 5},
        {"-0", k::integer, 0},
        {"-0.0", k::integer, 0},
        {"5.0", k::integer, 5},
        {"1e2", k::integer, 100},
        {"2.5", k::number, 2.5},
        {"-9223372036854775808", k::integer, -9223372036854775808.0},
        {"9223372036854775808", k::number, 9223372036854775808.0},
        {"-9223372036854775809", k::number, -9223372036854775808.0},
        {"1e300", k::number, 1e300},
        {"4.9e-324", k::number, 4.9e-324},  // the smallest subnormal
        {"2.2250738585072011e-308", k::number, 2.2250738585072011e-308},
        {"1.7976931348623157e308", k::number, 1.7976931348623157e308},
        {"1e400", k::out_of_range, 0},
        {"-1e400", k::out_of_range, 0},
        {"1e-400", k::out_of_range, 0},
        {"2e-324", k::out_of_range, 0},  // rounds to 0
        {"1e99999999999999999999", k::out_of_range, 0},
        {"1e-99999999999999999999", k::out_of_range, 0},
        {oob_read, k::out_of_range, 0},
        {underflow, k::integer, 0},  // zero written oddly is zero
        {long_one, k::out_of_range, 0},
        {long_fraction, k::integer, 1.0},  // rounds to the double 1, whose fraction is zero
        {long_small, k::out_of_range, 0},
    };
    for (const auto& c : cases) {
        INFO(c.text.substr(0, 60));
        const number_value v = convert_json_number(c.text);
        CHECK(v.what == c.what);
        if (c.what != k::out_of_range) CHECK(v.number == c.number);
    }
}

TEST_CASE("hostile numbers in attributes are values or out of range, never a crash",
          "[json][numbers]") {
    CHECK(attribute_of(oob_read).kind == kind::number_out_of_range);
    CHECK(attribute_of(underflow).kind == kind::integer);
    CHECK(attribute_of("1e400").kind == kind::number_out_of_range);
    CHECK(attribute_of("-1e-400").kind == kind::number_out_of_range);
    CHECK(attribute_of(std::string(5000, '9')).kind == kind::number_out_of_range);
    CHECK(attribute_of("-0").integer == 0);
    CHECK(attribute_of("4.9e-324").number == 4.9e-324);
}

TEST_CASE("numbers in a dump come back exactly as the client wrote them", "[json][numbers]") {
    const std::string numbers = "[1.50,1e400,-0," + oob_read + "," + underflow +
                                ",1E+2,123456789012345678901234567890,0.10]";
    const auto input =
        decode_allocation_input(R"({"dump": {"n": )" + numbers + R"( , "s":"1e5"}})");
    CHECK(input.dump_json == R"({"n":)" + numbers + R"(,"s":"1e5"})");
}

TEST_CASE("hostile numbers in unknown fields are refused by name", "[json][numbers]") {
    for (const std::string& n : {oob_read, underflow, std::string("1e400")}) {
        INFO(n);
        try {
            decode_allocation_input(R"({"colour":)" + n + "}");
            FAIL("accepted");
        } catch (const error& e) {
            CHECK(e.code() == error_code::invalid);
            REQUIRE(e.errors.size() == 1);
            CHECK(e.errors[0].field == "colour");
        }
    }
}

TEST_CASE("a number where a string is expected is refused, even inside the marker's range",
          "[json][numbers]") {
    try {
        decode_resource_input(R"({"name":12})");
        FAIL("accepted");
    } catch (const error& e) {
        REQUIRE(e.errors.size() == 1);
        CHECK(e.errors[0].message == "must be a string");
    }
    // A string that looks like a number stays a string.
    CHECK(decode_resource_input(R"({"name":"12"})").name == "12");
    CHECK(attribute_of(R"("1e400")").kind == kind::string);
}
