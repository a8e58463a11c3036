// No request can make a large answer: problem bodies list a bounded number
// of short field errors, and list pages stop at a byte cap.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "api/http.hpp"
#include "json/codec.hpp"

using namespace invsys;

namespace {

// The problem body the API answers `e` with.
std::string problem_of(const error& e) { return problem_response(e).body; }

error resource_error(const std::string& body) {
    try {
        decode_resource_input(body);
    } catch (const error& e) {
        return e;
    }
    FAIL("no error was thrown");
    return error(error_code::internal, "unreachable");
}

rapidjson::Document parsed(const std::string& text) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

// A body of `n` members produced by `member(i)`, under 1 MiB.
template <typename F>
std::string object_of(std::size_t n, F member) {
    std::string body = "{";
    for (std::size_t i = 0; i < n; ++i) {
        if (i != 0) body += ',';
        body += member(i);
    }
    return body + "}";
}

}  // namespace

TEST_CASE("100 000 duplicate keys answer 20 errors, the total and a short body",
          "[json][bounded]") {
    const std::string body = object_of(100000, [](std::size_t) { return std::string(R"("a":1)"); });
    REQUIRE(body.size() < 1024 * 1024);
    const error e = resource_error(body);
    CHECK(e.errors.size() == max_listed_field_errors);
    CHECK(e.errors_total == 99999 + 1);  // 99 999 repeats and `a` itself is unknown
    const std::string problem = problem_of(e);
    CHECK(problem.size() < 8 * 1024);
    const auto d = parsed(problem);
    CHECK(d["errors"].Size() == 20);
    CHECK(d["errors_total"].GetUint64() == 100000);
    CHECK(std::string(d["detail"].GetString()) == "a: unknown field (and 99999 more)");
}

TEST_CASE("50 000 unknown fields and 50 000 unknown attributes answer under 8 KiB",
          "[json][bounded]") {
    const std::string fields = object_of(50000, [](std::size_t i) {
        return std::string("\"f").append(std::to_string(i)).append("\":0");
    });
    const error e = resource_error(fields);
    CHECK(e.errors_total == 50000);
    CHECK(problem_of(e).size() < 8 * 1024);
}

TEST_CASE("a huge field name is quoted cut short", "[json][bounded]") {
    const std::string name(500000, 'k');
    const error e = resource_error(std::string("{\"").append(name).append("\":1}"));
    REQUIRE(e.errors.size() == 1);
    CHECK(e.errors[0].field == std::string(max_quoted_field_code_points, 'k') + "\xe2\x80\xa6");
    const std::string problem = problem_of(e);
    CHECK(problem.size() < 1024);
    // Cut on code points, never inside a UTF-8 sequence.
    std::string euros;
    for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";
    const error w = resource_error(std::string("{\"").append(euros).append("\":1}"));
    CHECK(w.errors[0].field.size() == max_quoted_field_code_points * 3 + 3);
}

TEST_CASE("an encoded problem lists at most 20 errors whatever the error holds",
          "[json][bounded]") {
    error e(error_code::invalid, std::string(100000, 'd'));
    for (int i = 0; i < 1000; ++i)
        e.errors.push_back({std::string(1000, 'f'), std::string(1000, 'm')});
    for (int i = 0; i < 1000; ++i) e.conflicts.push_back("0b6f6c1e-0000-4000-8000-000000000000");
    const std::string problem = problem_of(e);
    const auto d = parsed(problem);
    CHECK(d["errors"].Size() == 20);
    CHECK(d["errors_total"].GetUint64() == 1000);
    CHECK(d["conflicts"].Size() == 100);
    CHECK(problem.size() < 24 * 1024);
    CHECK(std::string(d["detail"].GetString()).size() < 600);
}

TEST_CASE("a list page stops before the item that would pass the byte cap", "[json][bounded]") {
    std::vector<resource> rs(10);
    for (std::size_t i = 0; i < rs.size(); ++i) {
        rs[i].id = std::to_string(i);
        rs[i].name = std::string(1000, 'n');
        rs[i].resource_type = "Car";
    }
    const std::size_t one = encode_resource(rs[0]).size();

    const auto whole = encode_resource_page(rs, 1 << 20);
    CHECK(whole.items == 10);
    CHECK(whole.json == encode_resources(rs));

    const auto three = encode_resource_page(rs, 3 * (one + 1) + 1);
    CHECK(three.items == 3);
    CHECK(three.json.size() <= 3 * (one + 1) + 1);
    CHECK(parsed(three.json).Size() == 3);

    // One item always, even above the cap: a page is never empty.
    const auto first = encode_resource_page(rs, 10);
    CHECK(first.items == 1);
    CHECK(parsed(first.json).Size() == 1);

    CHECK(encode_resource_page({}, 10).json == "[]");
    CHECK(encode_allocation_page({}, "Car", 10).items == 0);
}
